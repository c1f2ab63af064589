"""Exactly-once digest posts: claim before sending, record every message, resume a half post."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Protocol

from bot import log_messages as say
from bot.chat import (
    ChatPoster,
    ChatStore,
    ChatTarget,
    MessageLink,
    MessageRef,
    Part,
    RenderedPost,
    SummaryMessage,
    thread_plan,
)
from bot.errors import ChatError, DeliveryError
from bot.models import DigestSummary, RepoDigest, Severity
from bot.telemetry import PostFailed, PostFinished, PostIds, claim_event, emit

# A live poster renews its claim in the background every third of this; a claim silent this
# long belongs to a process presumed dead (kill -9, lost machine), and the next claim resumes it.
DEFAULT_LEASE = timedelta(seconds=60)
# A send whose answer was lost is looked up and, when absent, sent again this many times.
UNCERTAIN_RETRIES = 3
_log = logging.getLogger(__name__)


class ClaimState(Enum):
    """What a claim found."""

    NEW = "new"
    RESUMED = "resumed"
    DONE = "done"
    BUSY = "busy"


# A part noted as about to be sent but never confirmed: the process died mid-request.
UNCERTAIN = ""


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a post, and the messages sent (or perhaps sent) under it."""

    state: ClaimState
    posted: dict[int, str] = field(default_factory=dict)
    intended: dict[int, datetime] = field(default_factory=dict)
    busy_until: datetime | None = None  # BUSY: when the other owner's lease can run out

    def sent(self, index: int) -> str | None:
        """The message id of a part known to be sent."""
        message_id = self.posted.get(index)
        return message_id if message_id else None

    @property
    def owned(self) -> bool:
        """True when the caller may post."""
        return self.state in (ClaimState.NEW, ClaimState.RESUMED)


class DeliveryLog(Protocol):
    """The record of digest posts, message by message; implemented by the SQL store."""

    async def claim(self, key: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        """Take a post: new, resumed when its owner went silent or let go, else DONE or BUSY."""
        ...

    async def intend(self, key: str, owner: str, index: int, now: datetime) -> None:
        """Note that message `index` is about to be sent (UNCERTAIN until recorded)."""
        ...

    async def record(
        self, key: str, owner: str, index: int, message_id: str, now: datetime
    ) -> None:
        """Note message `index` as sent; raises LostClaim when the post is no longer ours."""
        ...

    async def renew(self, key: str, owner: str, now: datetime) -> bool:
        """Refresh the lease; False when the post is no longer ours."""
        ...

    async def release(self, key: str, owner: str) -> None:
        """Let go of an unfinished post (we stopped posting): the next claim resumes at once."""
        ...

    async def finish(self, key: str, owner: str, now: datetime) -> None:
        """Mark the post complete."""
        ...


class ReportLinks(Protocol):
    """Where a digest's full report is published, when it is."""

    def digest_url(self, digest: RepoDigest | DigestSummary) -> str | None:
        """A link to the digest's page (signed when the repository is private)."""
        ...


class NoReportLinks:
    """No public report pages."""

    def digest_url(self, digest: RepoDigest | DigestSummary) -> str | None:
        """Always None."""
        return None


@dataclass(frozen=True)
class PostOutcome:
    """What a publish did: the thread root, messages sent now, and those sent before."""

    state: ClaimState
    root: MessageRef | None = None
    sent: int = 0
    resumed_after: int = 0
    busy_until: datetime | None = None


def part_marker(key: str, index: int) -> str:
    """A short, stable tag for one part of one post, stamped where the platform allows."""
    return f"{hashlib.sha256(key.encode()).hexdigest()[:16]}:{index}"


def post_ids(key: str, target: ChatTarget, digest: RepoDigest) -> PostIds:
    """The ids every log line about a post carries."""
    return PostIds(key, target.platform, target.channel, digest.repo, digest.day.isoformat())


def post_key(kind: str, target: ChatTarget, digest: RepoDigest) -> str:
    """The identity of one post of one digest in one place."""
    where = f"{target.platform}:{target.channel}:{target.topic or ''}"
    return f"{kind}:{where}:{digest.repo}:{digest.day.isoformat()}:{digest.tz}:{digest.language}"


@dataclass
class _Progress:
    """One publish under way: where it posts, the thread so far, what it sent."""

    key: str
    target: ChatTarget
    digest: RepoDigest
    poster: ChatPoster
    claim: Claim
    total: int
    root: MessageRef | None = None
    sent: int = 0
    done: int = 0


class Publisher:
    """Posts a digest's summary and thread through a ChatPoster, exactly once per key."""

    def __init__(
        self,
        log: DeliveryLog,
        chat: ChatStore,
        *,
        owner: str,
        links: ReportLinks | None = None,
        lease: timedelta = DEFAULT_LEASE,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._log = log
        self._chat = chat
        self._owner = owner
        self._links = links or NoReportLinks()
        self._lease = lease
        self._now = now
        self._sleep = sleep
        self._active: set[str] = set()  # keys this process is posting right now

    @property
    def owner(self) -> str:
        """Who this publisher claims posts as (unique per process)."""
        return self._owner

    async def publish(
        self,
        target: ChatTarget,
        digest: RepoDigest,
        poster: ChatPoster,
        *,
        key: str,
        lowest: Severity = Severity.MEDIUM,
        summary: SummaryMessage | None = None,
    ) -> PostOutcome:
        """Claim, then send each message not yet sent; DONE or BUSY posts are left alone.

        `summary` replaces the day's headline (a weekly post); its thread has no page links.

        A failure releases the claim on the way out, so a retry resumes at once; a platform's
        refusal becomes a DeliveryError saying how many messages were posted, of how many.
        """
        if key in self._active:  # the same process, twice at once (catch-up and a firing)
            emit(PostFinished(post_ids(key, target, digest), "busy"), _log)
            return PostOutcome(ClaimState.BUSY, busy_until=self._now() + self._lease)
        self._active.add(key)
        try:
            return await self._publish(target, digest, poster, key, lowest, summary=summary)
        finally:
            self._active.discard(key)

    async def _publish(
        self,
        target: ChatTarget,
        digest: RepoDigest,
        poster: ChatPoster,
        key: str,
        lowest: Severity,
        *,
        summary: SummaryMessage | None = None,
    ) -> PostOutcome:
        claim = await self._log.claim(key, self._owner, self._now(), self._lease)
        known = sum(1 for i in claim.posted if claim.sent(i))
        ids = post_ids(key, target, digest)
        emit(claim_event(ids, claim.state.value, known), _log)
        if not claim.owned:
            return PostOutcome(claim.state, busy_until=claim.busy_until)
        parts = self._render(digest, poster, lowest, summary)
        progress = _Progress(key, target, digest, poster, claim, len(parts.parts()))
        keep_alive = asyncio.create_task(self._keep_alive(key))
        started = time.monotonic()
        try:
            await self._send_all(progress, parts.parts())
        except ChatError as exc:
            await self._let_go(key)
            emit(PostFailed(ids, progress.done, progress.total, exc.reason), _log)
            raise DeliveryError(target.describe(), progress.done, progress.total, exc) from exc
        except BaseException:  # cancelled (stopping) or broken: not posting any more
            await self._let_go(key)
            raise
        finally:
            keep_alive.cancel()
        await self._log.finish(key, self._owner, self._now())
        outcome = "posted" if claim.state is ClaimState.NEW else "completed"
        took = round(time.monotonic() - started, 3)
        emit(PostFinished(ids, outcome, progress.sent, progress.total, took), _log)
        return PostOutcome(claim.state, progress.root, progress.sent, known)

    def _render(
        self,
        digest: RepoDigest,
        poster: ChatPoster,
        lowest: Severity,
        summary: SummaryMessage | None,
    ) -> RenderedPost:
        """The post's messages; a weekly post has its own headline and no page links."""
        url = None if summary else self._links.digest_url(digest)
        head = summary or SummaryMessage(digest, url)
        return poster.render_post(head, thread_plan(digest, lowest, url))

    async def _send_all(self, progress: _Progress, parts: tuple[Part, ...]) -> None:
        claim = progress.claim
        first = claim.sent(0)
        progress.root = MessageRef(progress.target, first) if first else None
        for index, part in enumerate(parts):
            if not claim.sent(index):
                await self._send_one(progress, index, part)
            progress.done += 1

    async def _send_one(self, progress: _Progress, index: int, part: Part) -> None:
        key, target, marker = progress.key, progress.target, part_marker(progress.key, index)
        ref = None
        if index in progress.claim.posted:  # perhaps sent before a crash: look before sending
            since = progress.claim.intended.get(index)
            ref = await progress.poster.recover(target, progress.root, marker, since)
            if ref is not None:
                _log.info(say.part_found(key, index), extra={"post_key": key, "part": index})
        if ref is None:
            intended = self._now()
            await self._log.intend(key, self._owner, index, intended)
            ref = await self._deliver(progress, part, marker, intended)
            progress.sent += 1
        root = progress.root = progress.root or ref
        await self._log.record(key, self._owner, index, ref.message_id, self._now())
        link = MessageLink.of(root, progress.digest, part.shas)
        await self._chat.link(ref, root, link)

    async def _deliver(
        self, progress: _Progress, part: Part, marker: str, since: datetime
    ) -> MessageRef:
        """Send a part; after an uncertain failure, look it up before sending it again."""
        for attempt in range(UNCERTAIN_RETRIES + 1):
            try:
                return await progress.poster.post(progress.target, part, progress.root, marker)
            except ChatError as exc:
                if not exc.uncertain or attempt == UNCERTAIN_RETRIES:
                    raise
                ids = {"post_key": progress.key, "part": marker, "attempt": attempt + 1}
                _log.info(say.send_uncertain(progress.key, marker, exc.reason), extra=ids)
            found = await progress.poster.recover(progress.target, progress.root, marker, since)
            if found is not None:
                _log.info(say.part_found(progress.key, marker), extra=ids)
                return found
        raise AssertionError("unreachable")

    async def _keep_alive(self, key: str) -> None:
        """Renew the lease while posting, so a slow send or a long Retry-After never loses it."""
        interval = self._lease.total_seconds() / 3
        while True:
            await self._sleep(interval)
            try:
                if not await self._log.renew(key, self._owner, self._now()):
                    return
            except Exception as exc:  # a database hiccup: the next record renews it anyway
                _log.warning(say.claim_trouble(key, "renew", exc), extra={"post_key": key})

    async def _let_go(self, key: str) -> None:
        """Release the claim; if the database cannot be reached, the lease runs out by itself."""
        try:
            await self._log.release(key, self._owner)
        except Exception as exc:
            _log.warning(say.claim_trouble(key, "release", exc), extra={"post_key": key})
