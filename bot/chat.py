"""Neutral chat values and the ports chat adapters implement; no platform formatting here."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from bot.models import Commit, DigestEntry, RepoDigest, Severity
from bot.report import anchor_of


@dataclass(frozen=True)
class ChatTarget:
    """Where messages go: a platform, a channel, and an optional topic (Telegram forums)."""

    platform: str
    channel: str
    topic: str | None = None

    def describe(self) -> str:
        """Where this is, in the words an operator uses (`#C…` in Slack, a chat id elsewhere)."""
        place = (
            f"#{self.channel}"
            if self.platform == "slack"
            else f"{self.platform} chat {self.channel}"
        )
        return f"{place} topic {self.topic}" if self.topic else place


@dataclass(frozen=True)
class MessageRef:
    """A posted message; a thread is named by the ref of its root."""

    target: ChatTarget
    message_id: str


@dataclass(frozen=True)
class MessageLink:
    """What a bot message is about: its thread root, digest, and the commits it covers."""

    root_id: str
    repo: str
    day: date
    tz: str
    language: str
    shas: tuple[str, ...]

    @classmethod
    def of(cls, root: MessageRef, digest: RepoDigest, shas: tuple[str, ...]) -> MessageLink:
        """The link of a message in `root`'s thread, about some of `digest`'s commits."""
        return cls(root.message_id, digest.repo, digest.day, digest.tz, digest.language, shas)


class ChatStore(Protocol):
    """Message links, thread turns and stored-commit look-ups; implemented by the SQL store."""

    async def link(self, ref: MessageRef, root: MessageRef, link: MessageLink) -> None:
        """Record what a posted message is about (idempotent)."""
        ...

    async def get_link(self, ref: MessageRef) -> MessageLink | None:
        """The link of a bot message, or None when the message is not ours."""
        ...

    async def add_turn(self, root: MessageRef, role: str, text: str) -> None:
        """Append a question or an answer to a thread's history."""
        ...

    async def turns(self, root: MessageRef, limit: int = 12) -> list[tuple[str, str]]:
        """The thread's latest turns, oldest first."""
        ...

    async def find_commits(
        self, repos: list[str], pr_number: int | None = None, sha: str | None = None
    ) -> list[Commit]:
        """Stored commits of some repositories that merged a PR or match a SHA prefix."""
        ...


@dataclass(frozen=True)
class CommandEvent:
    """A `/digest …` command from someone, with where it came from."""

    target: ChatTarget
    user: str
    text: str
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class ThreadReplyEvent:
    """A message in one of our threads, or a reply to one of our messages."""

    target: ChatTarget
    user: str
    text: str
    thread_root: MessageRef | None
    reply_to: MessageRef | None = None


@dataclass(frozen=True)
class SummaryMessage:
    """The digest's headline post: counts, overview, high-severity titles, report link."""

    digest: RepoDigest
    report_url: str | None = None

    def high_titles(self) -> tuple[str, ...]:
        """Titles of the high-severity commits, in digest order."""
        return tuple(e.commit.title for e in self.digest.group(Severity.HIGH))


@dataclass(frozen=True)
class WeeklySummaryMessage(SummaryMessage):
    """A weekly post's headline: `digest` holds the week's entries, `days` the daily digests."""

    days: tuple[RepoDigest, ...] = ()
    day_urls: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class EntryMessage:
    """A thread reply: one analysis, or several low ones gathered."""

    digest: RepoDigest
    entries: tuple[DigestEntry, ...]
    report_url: str | None = None

    def entry_url(self, entry: DigestEntry) -> str | None:
        """The report link straight to one entry's anchor, when reports are published."""
        return f"{self.report_url}#{anchor_of(entry)}" if self.report_url else None


@dataclass(frozen=True)
class TextMessage:
    """Plain text (answers, help, errors); `private` asks for sender-only where possible."""

    text: str
    private: bool = False


@dataclass(frozen=True)
class CodeMessage:
    """Preformatted text (a diff) in code blocks, split within every platform's limits."""

    code: str
    private: bool = True


OutgoingMessage = SummaryMessage | EntryMessage | TextMessage | CodeMessage


def is_private(message: OutgoingMessage) -> bool:
    """True for text meant for its asker only (help, errors, a diff asked for)."""
    return isinstance(message, TextMessage | CodeMessage) and message.private


@dataclass(frozen=True)
class Part:
    """One platform message an adapter rendered; the core records it but never reads `payload`."""

    payload: object
    shas: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderedPost:
    """A digest post as platform messages: the summary (first is the thread root), then replies."""

    root: tuple[Part, ...]
    replies: tuple[Part, ...]

    def parts(self) -> tuple[Part, ...]:
        """Every message in posting order; the index is the resume position."""
        return self.root + self.replies


class ChatPoster(Protocol):
    """A platform's renderer and sender; adapters implement it, the core drives it."""

    def render(self, message: OutgoingMessage) -> list[Part]:
        """One neutral message as platform messages (split where the platform needs it)."""
        ...

    def render_post(self, summary: SummaryMessage, replies: Sequence[EntryMessage]) -> RenderedPost:
        """A whole digest post; a platform may pack several replies into one message."""
        ...

    async def post(
        self, target: ChatTarget, part: Part, thread: MessageRef | None, marker: str = ""
    ) -> MessageRef:
        """Send one rendered message, stamped with `marker` where the platform keeps metadata."""
        ...

    async def recover(
        self,
        target: ChatTarget,
        thread: MessageRef | None,
        marker: str,
        since: datetime | None = None,
    ) -> MessageRef | None:
        """Find a message sent with `marker` no earlier than `since` (None: cannot tell)."""
        ...


class NoRecovery:
    """For platforms that cannot look a sent message up: an uncertain part is sent again."""

    async def recover(
        self,
        target: ChatTarget,
        thread: MessageRef | None,
        marker: str,
        since: datetime | None = None,
    ) -> MessageRef | None:
        """Always None."""
        return None


def one_message_per_reply(
    render: Callable[[OutgoingMessage], list[Part]],
    summary: SummaryMessage,
    replies: Sequence[EntryMessage],
) -> RenderedPost:
    """A post where each thread reply is its own message (split only where a limit demands)."""
    return RenderedPost(tuple(render(summary)), tuple(p for r in replies for p in render(r)))


async def send(
    poster: ChatPoster,
    target: ChatTarget,
    message: OutgoingMessage,
    thread: MessageRef | None = None,
) -> list[MessageRef]:
    """Render and send one neutral message; a ref per platform message."""
    return [await poster.post(target, part, thread) for part in poster.render(message)]


def thread_plan(
    digest: RepoDigest, lowest: Severity = Severity.MEDIUM, report_url: str | None = None
) -> list[EntryMessage]:
    """One reply per entry at or above `lowest`, then one reply gathering the rest."""
    single = [e for e in digest.entries if e.analysis.severity.rank >= lowest.rank]
    rest = [e for e in digest.entries if e.analysis.severity.rank < lowest.rank]
    plan = [EntryMessage(digest, (e,), report_url) for e in single]
    if rest:
        plan.append(EntryMessage(digest, tuple(rest), report_url))
    return plan
