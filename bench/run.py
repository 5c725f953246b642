"""``make bench``: run every benchmark module in ``bench/``.

A benchmark is a ``bench/*.py`` module (not ``run.py``, not ``_private.py``) exposing
``def main(out_dir: Path) -> None``; it writes its results under ``out_dir``
(``bench/results/``). Modules without such a ``main`` are skipped. Each runs in turn, so
their timings do not disturb each other; one failing does not stop the rest, but the exit
status says so.

    python bench/run.py            # every benchmark
    python bench/run.py decode     # only bench/decode.py
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


def discover(names: list[str]) -> list[Path]:
    paths = sorted(
        p for p in BENCH.glob("*.py") if p.name != "run.py" and not p.name.startswith("_")
    )
    if names:
        wanted = {n.removesuffix(".py") for n in names}
        unknown = wanted - {p.stem for p in paths}
        if unknown:
            raise SystemExit(f"no benchmark named {', '.join(sorted(unknown))} in {BENCH}")
        paths = [p for p in paths if p.stem in wanted]
    return paths


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def takes_out_dir(module: ModuleType) -> bool:
    main = getattr(module, "main", None)
    if not callable(main):
        return False
    params = list(inspect.signature(main).parameters.values())
    return len(params) >= 1 and params[0].name == "out_dir"


def run(names: list[str]) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # so benchmarks can import bench-local helpers
    failed: list[str] = []
    for path in discover(names):
        started = time.perf_counter()
        try:
            module = load(path)
            if not takes_out_dir(module):
                print(f"-- {path.name}: no main(out_dir), skipped")
                continue
            print(f"== {path.name}")
            module.main(RESULTS)
        except Exception:
            traceback.print_exc()
            failed.append(path.name)
            print(f"!! {path.name} failed")
        else:
            print(f"== {path.name} done in {time.perf_counter() - started:.1f} s")
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
