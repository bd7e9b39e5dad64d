"""Properties of the small parsers and figures: --since, percentiles, the dev child's argv."""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from user_agent_sdk.cli import _dev, _run
from user_agent_sdk.history import parse_since
from user_agent_sdk.history._stats import percentile
from user_agent_sdk.history._time import iso_utc, parse_stored

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
UNITS = {"s": timedelta(seconds=1), "m": timedelta(minutes=1), "h": timedelta(hours=1)}
UNITS |= {"d": timedelta(days=1), "w": timedelta(weeks=1)}

moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from(sorted(UNITS)))
def test_an_age_counts_back_from_now(amount: int, unit: str) -> None:
    assert parse_since(f"{amount}{unit}", NOW) == NOW - amount * UNITS[unit]


@given(moments, offsets)
def test_an_iso_time_with_a_zone_is_that_moment(moment: datetime, zone: timezone) -> None:
    assert parse_since(moment.astimezone(zone).isoformat()) == moment


@given(st.text(alphabet="xyz:-/ ", min_size=1, max_size=12))
def test_anything_else_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="neither an age like 30m, 2h, 7d nor an ISO-8601"):
        parse_since(text)


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_stored_times_read_back_to_the_millisecond(epoch: float) -> None:
    stored = iso_utc(epoch)
    assert stored.endswith("+00:00")
    moment = parse_stored(stored)
    assert moment is not None
    assert abs(moment.timestamp() - epoch) < 0.001


@given(st.lists(st.floats(min_value=0, max_value=1e9), min_size=1), st.floats(1, 100))
def test_a_percentile_is_a_value_with_enough_at_or_below_it(values: list[float], q: float) -> None:
    ordered = sorted(values)
    found = percentile(ordered, q)
    assert found in ordered
    at_or_below = sum(value <= found for value in ordered)
    assert at_or_below >= math.ceil(q / 100 * len(ordered))
    assert percentile(ordered, 100) == ordered[-1]


def test_no_values_no_percentile() -> None:
    assert percentile([], 50) is None


def parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=command)
    _run.add_arguments(parser)
    return parser


run_options = st.fixed_dictionaries(
    {},
    optional={
        "-w": st.integers(1, 64).map(str),
        "-c": st.sampled_from(["credentials.json", "other dir/c.json"]),
        "-r": st.none(),
        "--db-path": st.sampled_from(["h.db", "-odd.db"]),
        "--log-level": st.sampled_from(["debug", "warning"]),
        "--debug": st.none(),
        "--grace": st.sampled_from(["0", "2.5"]),
    },
)


@given(run_options, st.sampled_from(["agent.py", "-dash.py", "dir with space/a.py"]))
def test_dev_hands_run_exactly_its_own_options(options: dict[str, str | None], script: str) -> None:
    argv = [key if value is None else f"{key}={value}" for key, value in options.items()]
    argv += ["--", script]
    args = parser("useragent dev").parse_args(argv)
    child = _dev.run_arguments(args)
    assert parser("useragent run").parse_args(child) == args
    assert Path(script).name in child[-1]
