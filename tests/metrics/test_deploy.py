"""The shipped monitoring config (deploy/) names only metrics a live /metrics exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import upbitws
from upbitws.metrics import ALERT_NAMES, AlertRules, serve
from upbitws.metrics.collector import METRIC_NAMES

from .conftest import FAST, eventually

if TYPE_CHECKING:
    from upbitws.simulator import Simulator

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "upbitws.json"
RULES = DEPLOY / "prometheus" / "alerts.yml"
#: Metric names in PromQL: ours, prometheus-client's process and GC collectors.
NAME = re.compile(r"\b((?:upbitws|process|python)_[a-z0-9_]+)\b")


@pytest.fixture
async def exposed(sim: Simulator) -> set[str]:
    """Every sample name a live stream's /metrics can expose (histogram and counter
    suffixes included, for families without samples yet too)."""
    import aiohttp

    async with (
        upbitws.connect([upbitws.trade("KRW-BTC")], url=sim.ws_url, **FAST) as stream,
        serve(stream, port=0, rules=AlertRules(cpu_percent=None), interval=0.1) as exporter,
    ):
        await eventually(lambda: stream.stats().received.get("trade", 0) > 0)
        async with aiohttp.ClientSession() as session, session.get(exporter.url + "/metrics") as r:
            text = await r.text()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(s.name for s in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_count", "_sum"))
    return names


def _panels(doc: dict[str, Any]) -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    for panel in doc["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))  # collapsed rows nest theirs
    return panels


def test_dashboard_is_a_valid_grafana_document() -> None:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(doc["title"], str)
    assert doc["title"]
    assert isinstance(doc["uid"], str)
    assert isinstance(doc["schemaVersion"], int)
    assert {v["name"] for v in doc["templating"]["list"]} >= {"datasource", "instance"}
    panels = _panels(doc)
    assert panels
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["type"] in {"timeseries", "stat", "row", "table", "gauge"}, panel["title"]
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("h", "w", "x", "y")), panel["title"]
        assert 0 < grid["w"] <= 24
        assert grid["x"] + grid["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert NAME.search(target["expr"]), (panel["title"], target["expr"])
            assert target["expr"].count("(") == target["expr"].count(")")


async def test_every_dashboard_query_names_exposed_metrics(exposed: set[str]) -> None:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [t["expr"] for p in _panels(doc) for t in p.get("targets", [])]
    queries += [v["definition"] for v in doc["templating"]["list"] if "definition" in v]
    named = {n for q in queries for n in NAME.findall(q)}
    assert named
    assert named - exposed == set()
    # ...and the dashboard shows every upbitws family the exporter has.
    shown = {n.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count") for n in named}
    assert set(METRIC_NAMES) - shown == set()


async def test_alert_rules_name_exposed_metrics_and_cover_every_builtin_alert(
    exposed: set[str],
) -> None:
    text = RULES.read_text(encoding="utf-8")
    exprs = re.findall(r"expr: (>\n(?:\s{10}.*\n)+|.*\n)", text)
    named = {n for e in exprs for n in NAME.findall(e)}
    assert named
    assert named - exposed == set()
    assert sorted(re.findall(r"upbitws_alert: (\w+)", text)) == sorted(ALERT_NAMES)
