"""Client-side pacing keeps the platforms' per-chat rates, measured on a fake clock."""

from __future__ import annotations

from itertools import pairwise

from adapters.pacing import Pacer, Rate


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_a_burst_to_one_group_keeps_one_per_second_and_twenty_per_minute() -> None:
    clock = FakeClock()
    pacer = Pacer([Rate(1, 1.0), Rate(20, 60.0)], clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(45):
        await pacer.wait("-100123")
        times.append(clock.now)
    assert all(b - a >= 1.0 for a, b in pairwise(times))
    for start in times:
        assert sum(1 for t in times if start <= t < start + 60.0) <= 20
    assert times[20] >= 60.0  # the 21st message waited for the minute to roll over


async def test_chats_are_paced_independently_and_retry_after_pauses_one() -> None:
    clock = FakeClock()
    pacer = Pacer([Rate(1, 1.0)], clock=clock, sleep=clock.sleep)
    await pacer.wait("a")
    await pacer.wait("b")
    assert clock.now == 0.0  # another chat does not wait
    pacer.pause("b", 7.0)
    await pacer.wait("a")
    assert clock.now == 1.0
    await pacer.wait("b")
    assert clock.now == 7.0


async def test_a_429_pauses_then_slows_the_chat_for_a_while() -> None:
    from adapters.pacing import RELAX_SECONDS

    clock = FakeClock()
    pacer = Pacer([Rate(1, 1.0)], clock=clock, sleep=clock.sleep)
    await pacer.wait("c")
    pacer.penalize("c", 5.0)  # Retry-After: 5
    pacer.penalize("c", 5.0)  # the answer to a send made before the first 429: no new lesson
    await pacer.wait("c")
    assert clock.now == 5.0
    await pacer.wait("c")
    assert clock.now == 7.0  # two seconds apart now, not one
    pacer.penalize("c", 1.0)  # a second 429: four seconds apart
    await pacer.wait("c")
    assert clock.now == 11.0
    await pacer.wait("c")
    assert clock.now == 15.0
    pacer.penalize("c", 1.0)  # a third: still four seconds apart, the slowest it goes
    await pacer.wait("c")
    await pacer.wait("c")
    assert clock.now == 23.0
    clock.now += 2 * RELAX_SECONDS  # quiet stretches: back to the documented pace
    start = clock.now
    await pacer.wait("c")
    await pacer.wait("c")
    assert clock.now == start + 1.0
    assert pacer.slowdown("other") == 1  # another chat never slowed
