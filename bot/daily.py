"""The daily post of one subscription: yesterday's digest of each repository, posted once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot.chat import ChatPoster
from bot.days import DayWindow
from bot.delivery import ClaimState, PostOutcome, Publisher, post_key
from bot.digest import CommitFilter, DigestEngine
from bot.errors import DeliveryError, DigestbotError, LostClaim, SourceError
from bot.fanout import in_order
from bot.models import RepoDigest
from bot.ports import CommitSource
from bot.subscriptions import WEEKDAYS, Subscription

B = TypeVar("B")  # what a repository is built into: a day (daily) or its days (weekly)


@dataclass(frozen=True)
class DailyResult:
    """What one run did for one repository."""

    repo: str
    commits: int
    outcome: PostOutcome | None  # None when an empty day was skipped, or on an error
    error: DigestbotError | None = None

    @property
    def busy(self) -> bool:
        """Another live process holds this post."""
        return self.outcome is not None and self.outcome.state is ClaimState.BUSY


@dataclass(frozen=True)
class DayStatus:
    """Where a subscription's day stands after a run, for whoever decides what to do next."""

    complete: bool
    busy_until: datetime | None = None  # the earliest moment a held post can be taken over
    retry_helps: bool = True  # False when only a configuration change can help


def status_of(results: list[DailyResult]) -> DayStatus:
    """Complete when every repository is posted (or skipped); else why not."""
    errors = [r.error for r in results if r.error is not None]
    busy = [r.outcome.busy_until for r in results if r.busy and r.outcome]
    if not errors and not busy:
        return DayStatus(True)
    helps = all(not isinstance(e, DeliveryError) or e.retry_helps for e in errors)
    until = min((b for b in busy if b is not None), default=None)
    return DayStatus(False, until if not errors else None, helps)


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
        poster = self._poster_for(subscription)
        window = DayWindow(fired_on - timedelta(days=1), subscription.tz)
        return await build_then_post(
            subscription.repos,
            partial(self._build, subscription, window),
            partial(self._post, subscription, poster=poster),
        )

    def _poster_for(self, subscription: Subscription) -> ChatPoster:
        """The poster of the subscription's platform (LookupError: not configured)."""
        platform = subscription.target.platform
        poster = self._posters.get(platform)
        if poster is None:
            raise LookupError(f"{subscription.name}: {platform} is not configured")
        return poster

    async def _build(self, subscription: Subscription, window: DayWindow, spec: str) -> RepoDigest:
        return await self._engine.build(
            self._sources(spec),
            window,
            subscription.language,
            commit_filter=CommitFilter(subscription.filters),
        )

    async def _post(
        self, subscription: Subscription, digest: RepoDigest, *, poster: ChatPoster
    ) -> DailyResult:
        if not digest.entries and subscription.skip_empty:
            return DailyResult(digest.repo, 0, None)
        key = post_key(f"daily-{subscription.name}", subscription.target, digest)
        try:
            outcome = await self._publisher.publish(
                subscription.target, digest, poster, key=key, lowest=subscription.lowest
            )
        except (DeliveryError, LostClaim) as exc:
            return DailyResult(digest.repo, len(digest.entries), None, exc)
        return DailyResult(digest.repo, len(digest.entries), outcome)


async def build_then_post(
    specs: Sequence[str],
    build: Callable[[str], Awaitable[B]],
    post: Callable[[B], Awaitable[DailyResult]],
) -> list[DailyResult]:
    """Build a few repositories at once (bot.fanout), post them one by one in the given order.

    A repository whose source fails is said once, in its result; the next one goes on.
    """

    async def one(spec: str) -> tuple[str, B | SourceError]:
        try:
            return spec, await build(spec)
        except SourceError as exc:
            return spec, exc

    results = []
    async for spec, built in in_order([partial(one, spec) for spec in specs]):
        if isinstance(built, SourceError):
            results.append(DailyResult(spec, 0, None, built))
        else:
            results.append(await post(built))
    return results


_STATES = {
    ClaimState.NEW: "posted",
    ClaimState.RESUMED: "completed an interrupted post",
    ClaimState.DONE: "already posted",
    ClaimState.BUSY: "being posted by another process (or one that stopped under a minute ago)",
}


def describe_result(result: DailyResult) -> str:
    """What happened to one repository's post, in words."""
    if result.error is not None:
        return f"{result.repo}: {result.error}"
    if result.outcome is None:
        return f"{result.repo}: no commits, skipped"
    what = _STATES[result.outcome.state]
    return f"{result.repo}: {result.commits} commits, {what}, {result.outcome.sent} messages sent"


def describe(subscription: Subscription, results: list[DailyResult]) -> str:
    """One log line per run, for operators."""
    return f"{subscription.name}: " + "; ".join(describe_result(r) for r in results)
