"""A faithful local Upbit: WebSocket and REST on one port, seeded markets, a private account,
fault knobs and a benchmark feed. See the README section "Against the simulator".

>>> async def main() -> None:  # doctest: +SKIP
...     async with Simulator(seed=1, markets=["KRW-BTC"]) as sim:
...         print(sim.ws_url)
"""

from __future__ import annotations

from upbitws.simulator.account import OrderError
from upbitws.simulator.config import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, SimulatorConfig
from upbitws.simulator.faults import FAULT_KINDS, Fault
from upbitws.simulator.server import PRIVATE_PATH, PUBLIC_PATH, Simulator

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_SECRET_KEY",
    "FAULT_KINDS",
    "PRIVATE_PATH",
    "PUBLIC_PATH",
    "Fault",
    "OrderError",
    "Simulator",
    "SimulatorConfig",
]
