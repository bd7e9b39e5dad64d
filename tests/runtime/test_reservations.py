"""A reservation is given back once, however many times and wherever it is released."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from user_agent_sdk.runtime._reservations import Reservations


def test_a_with_block_holds_until_it_ends_and_release_again_does_nothing() -> None:
    released: list[int] = []
    reservations = Reservations(released=lambda: released.append(reservations.total))
    with reservations.reserve(3) as held:
        assert reservations.total == 3
        held.release()
        assert reservations.total == 0
    assert released == [0]
    assert held.count == 3


@given(
    st.lists(st.integers(min_value=0, max_value=50), max_size=20),
    st.lists(st.integers(min_value=0, max_value=19), max_size=60),
)
def test_the_total_is_what_the_unreleased_reservations_hold(
    counts: list[int], releases: list[int]
) -> None:
    reservations = Reservations(released=lambda: None)
    made = [reservations.reserve(count) for count in counts]
    released: set[int] = set()
    for index in releases:
        if index < len(made):
            made[index].release()
            released.add(index)
    held = sum(r.count for i, r in enumerate(made) if i not in released)
    assert reservations.total == held
