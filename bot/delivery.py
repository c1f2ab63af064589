"""Exactly-once digest posts: claim before sending, record every message, resume a half post."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Protocol

from bot.chat import (
    ChatPoster,
    ChatStore,
    ChatTarget,
    MessageLink,
    MessageRef,
    SummaryMessage,
    thread_plan,
)
from bot.models import RepoDigest, Severity

# A poster refreshes its claim with every message; one silent this long is presumed dead.
DEFAULT_LEASE = timedelta(minutes=3)


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
        """Take a post: new, resumed when its owner went silent, else DONE or BUSY."""
        ...

    async def intend(self, key: str, owner: str, index: int, now: datetime) -> None:
        """Note that message `index` is about to be sent (UNCERTAIN until recorded)."""
        ...

    async def record(
        self, key: str, owner: str, index: int, message_id: str, now: datetime
    ) -> None:
        """Note message `index` as sent; raises LostClaim when the post is no longer ours."""
        ...

    async def finish(self, key: str, owner: str, now: datetime) -> None:
        """Mark the post complete."""
        ...


class ReportLinks(Protocol):
    """Where a digest's full report is published, when it is."""

    def digest_url(self, digest: RepoDigest) -> str | None:
        """A link to the digest's page (signed when the repository is private)."""
        ...


class NoReportLinks:
    """No public report pages."""

    def digest_url(self, digest: RepoDigest) -> str | None:
        """Always None."""
        return None


@dataclass(frozen=True)
class PostOutcome:
    """What a publish did: the thread root, messages sent now, and those sent before."""

    state: ClaimState
    root: MessageRef | None = None
    sent: int = 0
    resumed_after: int = 0


def part_marker(key: str, index: int) -> str:
    """A short, stable tag for one part of one post, stamped where the platform allows."""
    return f"{hashlib.sha256(key.encode()).hexdigest()[:16]}:{index}"


def post_key(kind: str, target: ChatTarget, digest: RepoDigest) -> str:
    """The identity of one post of one digest in one place."""
    where = f"{target.platform}:{target.channel}:{target.topic or ''}"
    return f"{kind}:{where}:{digest.repo}:{digest.day.isoformat()}:{digest.tz}:{digest.language}"


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
    ) -> None:
        self._log = log
        self._chat = chat
        self._owner = owner
        self._links = links or NoReportLinks()
        self._lease = lease
        self._now = now

    async def publish(
        self,
        target: ChatTarget,
        digest: RepoDigest,
        poster: ChatPoster,
        *,
        key: str,
        lowest: Severity = Severity.MEDIUM,
    ) -> PostOutcome:
        """Claim, then send each message not yet sent; DONE or BUSY posts are left alone."""
        claim = await self._log.claim(key, self._owner, self._now(), self._lease)
        if not claim.owned:
            return PostOutcome(claim.state)
        url = self._links.digest_url(digest)
        rendered = poster.render_post(SummaryMessage(digest, url), thread_plan(digest, lowest, url))
        first = claim.sent(0)
        root = MessageRef(target, first) if first else None
        sent = 0
        for index, part in enumerate(rendered.parts()):
            if claim.sent(index):
                continue
            marker = part_marker(key, index)
            ref = None
            if index in claim.posted:  # perhaps sent before a crash: look before sending again
                ref = await poster.recover(target, root, marker)
            if ref is None:
                await self._log.intend(key, self._owner, index, self._now())
                ref = await poster.post(target, part, root, marker)
                sent += 1
            root = root or ref
            await self._log.record(key, self._owner, index, ref.message_id, self._now())
            await self._chat.link(ref, root, MessageLink.of(root, digest, part.shas))
        await self._log.finish(key, self._owner, self._now())
        known = sum(1 for i in claim.posted if claim.sent(i))
        return PostOutcome(claim.state, root, sent, known)
