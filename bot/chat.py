"""Neutral chat values and the ports chat adapters implement; no platform formatting here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.models import DigestEntry, RepoDigest, Severity


@dataclass(frozen=True)
class ChatTarget:
    """Where messages go: a platform, a channel, and an optional topic (Telegram forums)."""

    platform: str
    channel: str
    topic: str | None = None


@dataclass(frozen=True)
class MessageRef:
    """A posted message; a thread is named by the ref of its root."""

    target: ChatTarget
    message_id: str


@dataclass(frozen=True)
class CommandEvent:
    """A `/digest …` command from someone, with where it came from."""

    target: ChatTarget
    user: str
    text: str


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
class EntryMessage:
    """A thread reply: one analysis, or several low ones gathered."""

    digest: RepoDigest
    entries: tuple[DigestEntry, ...]
    report_url: str | None = None


@dataclass(frozen=True)
class TextMessage:
    """Plain text (answers, help, errors); `private` asks for sender-only where possible."""

    text: str
    private: bool = False


OutgoingMessage = SummaryMessage | EntryMessage | TextMessage


class ChatPoster(Protocol):
    """Sends neutral messages to a platform; returns a ref per platform message sent."""

    async def send(
        self, target: ChatTarget, message: OutgoingMessage, thread: MessageRef | None = None
    ) -> list[MessageRef]:
        """Send one neutral message (split by the adapter if the platform needs it)."""
        ...


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
