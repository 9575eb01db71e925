"""The Grafana dashboard in docs/grafana reads the metrics that exist, and all of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import monitoring.metrics  # noqa: F401 (registers every metric)

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "gridtwin.json"
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}


def test_every_query_names_a_metric_and_every_metric_has_a_panel() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    families = {  # what a query can read of each metric, counted yet or not
        family.name: {family.name + suffix for suffix in SUFFIXES[family.type]}
        for family in REGISTRY.collect()
        if family.name.startswith("gridtwin_")
    }
    samples = set().union(*families.values())

    used = {name for query in queries for name in re.findall(r"gridtwin_\w+", query)}

    assert used and used <= samples, used - samples
    unshown = {family for family, names in families.items() if not names & used}
    assert not unshown, unshown
