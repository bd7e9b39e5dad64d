"""Per-agent figures for ``useragent history --stats``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import attrs


@attrs.frozen
class AgentSummary:
    """How one user agent's executions went."""

    user_agent_id: str | None
    executions: int
    successes: int
    p50_ms: float | None
    """Median duration; None when no execution has one (rows of an older version)."""
    p95_ms: float | None
    max_ms: float | None

    @property
    def success_rate(self) -> float:
        """Successes over executions, 0.0 to 1.0."""
        return self.successes / self.executions if self.executions else 0.0


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (0 < q <= 100) of values sorted ascending."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(rows: Iterable[tuple[str | None, str | None, float | None]]) -> list[AgentSummary]:
    """Summaries of ``(user_agent_id, status, duration_ms)`` rows, one per agent, by agent id."""
    groups: dict[str | None, tuple[list[int], list[float]]] = {}
    for agent, status, duration in rows:
        counts, durations = groups.setdefault(agent, ([0, 0], []))
        counts[0] += 1
        counts[1] += status == "success"
        if duration is not None:
            durations.append(duration)
    summaries = []
    for agent in sorted(groups, key=lambda name: (name is None, name or "")):
        (executions, successes), durations = groups[agent]
        durations.sort()
        summaries.append(
            AgentSummary(
                user_agent_id=agent,
                executions=executions,
                successes=successes,
                p50_ms=percentile(durations, 50),
                p95_ms=percentile(durations, 95),
                max_ms=durations[-1] if durations else None,
            )
        )
    return summaries
