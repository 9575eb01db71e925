"""Reading the Prometheus text format in tests; holds no tests itself."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from monitoring import metrics

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and sorted labels (raises on a
    line that is not the format)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when it was never counted."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(base_url: str) -> Samples:
    """GET /metrics of a running server."""
    response = httpx.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def rendered() -> Samples:
    """This process's metrics, as /metrics would serve them."""
    body, _ = metrics.render()
    return parse(body.decode())


def delta(before: Samples, after: Samples, name: str, **labels: Any) -> float:
    return value(after, name, **labels) - value(before, name, **labels)
