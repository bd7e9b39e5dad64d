"""Metric families built from the runtime's and the server's plain counts at scrape time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

from .._histogram import Histogram

Rows = Iterable[tuple[Sequence[str], float]]
"""A family's samples: each one's label values and value."""
_Family = TypeVar("_Family", CounterMetricFamily, GaugeMetricFamily)


def counter(name: str, doc: str, labels: Sequence[str], rows: Rows) -> CounterMetricFamily:
    """A counter family (exposed as ``NAME_total``) with one sample per row."""
    return _filled(CounterMetricFamily(name, doc, labels=labels), rows)


def gauge(name: str, doc: str, labels: Sequence[str], rows: Rows) -> GaugeMetricFamily:
    """A gauge family with one sample per row."""
    return _filled(GaugeMetricFamily(name, doc, labels=labels), rows)


def _filled(family: _Family, rows: Rows) -> _Family:
    for values, value in rows:
        family.add_metric(values, value)
    return family


def histogram(
    name: str, doc: str, labels: Sequence[str], rows: Iterable[tuple[Sequence[str], Histogram]]
) -> HistogramMetricFamily:
    """A histogram family with one series per row that has observed anything."""
    family = HistogramMetricFamily(name, doc, labels=labels)
    for values, counts in rows:
        if not counts.count:
            # As conductor-python's (and prometheus-client's labelled) histograms: a series
            # appears with its first value. A scrape costs per sample, and most
            # FAILURE series stay empty.
            continue
        buckets = [(_bucket_bound(bound), float(n)) for bound, n in counts.cumulative()]
        family.add_metric(values, buckets, counts.sum)
    return family


def by_error(
    prefix: Sequence[str], counts: Mapping[str, int]
) -> Iterable[tuple[Sequence[str], float]]:
    """One row per error class: the labels ``prefix`` then the class name."""
    for error, count in sorted(counts.items()):
        yield (*prefix, error), count


def _bucket_bound(bound: float) -> str:
    """An ``le`` label as prometheus-client's own histograms write it."""
    return "+Inf" if bound == float("inf") else repr(float(bound))
