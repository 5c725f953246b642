"""mkdocs hooks: pages that are not written yet stay out of the nav; README's options table
is shown in the API reference (one source, checked against the code by tests/test_docs.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OPTIONS_MARKER = "<!-- README: options table -->"


def _existing(nav: Any, docs_dir: Path) -> Any:
    """The nav without entries whose page file does not exist (yet)."""
    if isinstance(nav, list):
        kept = [_existing(item, docs_dir) for item in nav]
        return [item for item in kept if item is not None]
    if isinstance(nav, dict):
        kept_dict = {k: _existing(v, docs_dir) for k, v in nav.items()}
        return {k: v for k, v in kept_dict.items() if v is not None} or None
    if isinstance(nav, str) and nav.endswith(".md") and "://" not in nav:
        return nav if (docs_dir / nav).is_file() else None
    return nav


def on_config(config: Any) -> Any:
    config["nav"] = _existing(config["nav"], Path(config["docs_dir"]))
    return config


def _options_table() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Options", 1)[1].split("\n## ", 1)[0]
    return "### Options" + section.rstrip() + "\n"


def on_page_markdown(markdown: str, **_: Any) -> str:
    if OPTIONS_MARKER in markdown:
        return markdown.replace(OPTIONS_MARKER, _options_table())
    return markdown
