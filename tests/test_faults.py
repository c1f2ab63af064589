"""The fault matrix in the suite: every fault, on both platforms, ends in one complete post."""

from __future__ import annotations

import pytest

from bot.storage.sql_store import SqlStore
from scheduler.clock import MISFIRE_GRACE_SECONDS
from tests.fault_matrix import FAULTS, PLATFORMS, TELEGRAM_MAY_REPEAT, run_case


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_the_day_ends_complete_and_once_with_no_one_acting(
    platform: str, fault: str, store: SqlStore
) -> None:
    result = await run_case(platform, fault, store)
    assert result.complete, result
    assert result.missing == 0
    if platform == "telegram" and fault in TELEGRAM_MAY_REPEAT:
        assert result.duplicates <= 1, result  # the one message in flight, sent again
    else:
        assert result.duplicates == 0, result
    assert result.rate_limited <= 5, result  # a stricter limit costs a few 429s, not one each
    assert result.seconds < MISFIRE_GRACE_SECONDS
