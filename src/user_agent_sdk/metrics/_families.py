"""Metric families built from the runtime's and the server's plain counts at scrape time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

from .._histogram import Histogram


def counter(
    name: str,
    documentation: str,
    labels: Sequence[str],
    rows: Iterable[tuple[Sequence[str], float]],
) -> CounterMetricFamily:
    """A counter family (exposed as ``NAME_total``) with one sample per row."""
    family = CounterMetricFamily(name, documentation, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family


def gauge(
    name: str,
    documentation: str,
    labels: Sequence[str],
    rows: Iterable[tuple[Sequence[str], float]],
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family


def histogram(
    name: str,
    documentation: str,
    labels: Sequence[str],
    rows: Iterable[tuple[Sequence[str], Histogram]],
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=labels)
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
