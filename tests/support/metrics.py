"""Reading Prometheus text exposition in tests: samples by metric name, summed by labels."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def parse(text: str) -> dict[str, list]:
    """Every sample of an exposition, grouped by sample name (`_total`, `_bucket`, ...)."""
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def scrape(url: str, **kw) -> dict[str, list]:
    """GET a /metrics over HTTP (a gunicorn, a worker's port) and parse it."""
    import requests

    resp = requests.get(url, timeout=10, **kw)
    assert resp.status_code == 200, resp.text
    return parse(resp.text)


def value(found: dict[str, list], name: str, **labels) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(s.value for s in found.get(name, [])
               if all(s.labels.get(k) == v for k, v in labels.items()))
