"""The weekly post of a subscription: the seven days before its day, from the daily digests.

Each day is built through the engine, so its analyses come from the cache (a day already
analyzed costs no model call) and its commits are listed again: a day recalled mid-day is
completed. The week is posted once, under a post key of its own, through the same Publisher
(claims, resumption) and the same clock retries as a daily post.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from functools import partial

from bot.cadence import covered_days
from bot.chat import ChatPoster, WeeklySummaryMessage
from bot.daily import DailyPoster, DailyResult, build_then_post
from bot.days import DayWindow
from bot.delivery import Publisher, ReportLinks, post_key
from bot.digest import CommitFilter, DigestEngine
from bot.errors import DeliveryError, LostClaim
from bot.models import RepoDigest
from bot.ports import CommitSource
from bot.subscriptions import Subscription
from bot.week_document import week_digest


class WeeklyPoster(DailyPoster):
    """Builds (through the analysis cache) and publishes a subscription's week, once.

    A daily poster whose one post per repository covers the seven days up to the day before
    `fired_on`, and whose headline counts them day by day.
    """

    def __init__(
        self,
        engine: DigestEngine,
        publisher: Publisher,
        sources: Callable[[str], CommitSource],
        posters: Mapping[str, ChatPoster],
        links: ReportLinks,
    ) -> None:
        super().__init__(engine, publisher, sources, posters)
        self._links = links

    async def days(self, subscription: Subscription, spec: str, fired_on: date) -> list[RepoDigest]:
        """The week's daily digests, oldest first."""
        source, s = self._sources(spec), subscription
        return [
            await self._engine.build(
                source, DayWindow(day, s.tz), s.language, commit_filter=CommitFilter(s.filters)
            )
            for day in covered_days(s, fired_on)
        ]

    async def run(self, subscription: Subscription, fired_on: date) -> list[DailyResult]:
        """Post the seven days before `fired_on` (in the subscription's zone), per repository."""
        return await build_then_post(
            subscription.repos,
            partial(self.days, subscription, fired_on=fired_on),
            partial(self._post_week, subscription, poster=self._poster_for(subscription)),
        )

    async def _post_week(
        self, subscription: Subscription, days: list[RepoDigest], *, poster: ChatPoster
    ) -> DailyResult:
        week = week_digest(days)
        if not week.entries and subscription.skip_empty:
            return DailyResult(week.repo, 0, None)
        urls = tuple(self._links.digest_url(d) for d in days)
        summary = WeeklySummaryMessage(week, None, tuple(days), urls)
        key = post_key(f"weekly-{subscription.name}", subscription.target, week)
        try:
            outcome = await self._publisher.publish(
                subscription.target,
                week,
                poster,
                key=key,
                lowest=subscription.lowest,
                summary=summary,
            )
        except (DeliveryError, LostClaim) as exc:
            return DailyResult(week.repo, len(week.entries), None, exc)
        return DailyResult(week.repo, len(week.entries), outcome)
