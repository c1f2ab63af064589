"""The daily post of one subscription: yesterday's digest of each repository, posted once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from bot.chat import ChatPoster
from bot.days import DayWindow
from bot.delivery import ClaimState, PostOutcome, Publisher, post_key
from bot.digest import CommitFilter, DigestEngine
from bot.fanout import in_order
from bot.ports import CommitSource
from bot.subscriptions import WEEKDAYS, Subscription


@dataclass(frozen=True)
class DailyResult:
    """What one run did for one repository."""

    repo: str
    commits: int
    outcome: PostOutcome | None  # None when an empty day was skipped


def slot_passed_today(subscription: Subscription, now: datetime) -> date | None:
    """Today's date in the subscription's zone when today is a posting day and its time passed."""
    local = now.astimezone(ZoneInfo(subscription.tz))
    if WEEKDAYS[local.weekday()] not in subscription.days:
        return None
    return local.date() if local.time() >= subscription.at else None


def slot_date(subscription: Subscription, now: datetime) -> date:
    """The date of the latest slot at or before `now`: a run delayed past midnight keeps its day."""
    local = now.astimezone(ZoneInfo(subscription.tz))
    return local.date() if local.time() >= subscription.at else local.date() - timedelta(days=1)


class DailyPoster:
    """Builds (through the analysis cache) and publishes a subscription's day, idempotently."""

    def __init__(
        self,
        engine: DigestEngine,
        publisher: Publisher,
        sources: Callable[[str], CommitSource],
        posters: Mapping[str, ChatPoster],
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._sources = sources
        self._posters = posters

    async def run(self, subscription: Subscription, fired_on: date) -> list[DailyResult]:
        """Post the day before `fired_on` (in the subscription's zone) to its chat."""
        target = subscription.target
        poster = self._posters.get(target.platform)
        if poster is None:
            raise LookupError(f"{subscription.name}: {target.platform} is not configured")
        window = DayWindow(fired_on - timedelta(days=1), subscription.tz)
        results = []
        builds = [
            partial(
                self._engine.build,
                self._sources(spec),
                window,
                subscription.language,
                commit_filter=CommitFilter(subscription.filters),
            )
            for spec in subscription.repos
        ]
        # Built a few at once (bot.fanout), posted one by one in the subscription's order.
        async for digest in in_order(builds):
            if not digest.entries and subscription.skip_empty:
                results.append(DailyResult(digest.repo, 0, None))
                continue
            key = post_key(f"daily-{subscription.name}", target, digest)
            outcome = await self._publisher.publish(
                target, digest, poster, key=key, lowest=subscription.lowest
            )
            results.append(DailyResult(digest.repo, len(digest.entries), outcome))
        return results


_STATES = {
    ClaimState.NEW: "posted",
    ClaimState.RESUMED: "completed an interrupted post",
    ClaimState.DONE: "already posted",
    ClaimState.BUSY: "being posted by another process (or one that stopped under 3 minutes ago)",
}


def describe_result(result: DailyResult) -> str:
    """What happened to one repository's post, in words."""
    if result.outcome is None:
        return f"{result.repo}: no commits, skipped"
    what = _STATES[result.outcome.state]
    return f"{result.repo}: {result.commits} commits, {what}, {result.outcome.sent} messages sent"


def describe(subscription: Subscription, results: list[DailyResult]) -> str:
    """One log line per run, for operators."""
    return f"{subscription.name}: " + "; ".join(describe_result(r) for r in results)
