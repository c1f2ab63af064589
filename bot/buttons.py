"""What each button on an analysis does: explain in the thread, the diff in private, a vote.

The pressed message is looked up in the store (its digest, thread and commits), so a button on
a message posted before a restart works. Each press is answered at once and briefly (Telegram
wants its callback answered within seconds; the work follows), and a press twice counts once:
an explanation is posted once per thread, a diff sent once a minute, a vote kept once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot import log_messages as say
from bot.actions import ActionEvent, Presser
from bot.budget import DiffBudget
from bot.chat import ChatPoster, ChatStore, CodeMessage, MessageLink, MessageRef, TextMessage, send
from bot.digest import DigestEngine, DigestStores
from bot.feedback import DOWN, UP, Vote, VoteChange, VoteStore
from bot.followup import Answerer, FollowUpContext, StoredAnswerer
from bot.inbound import InboundLog
from bot.models import DigestEntry
from bot.observed import observed_press
from bot.sanitize import safe_text

_NO_DIFF = "I no longer have this commit's diff stored; try /digest explain with its SHA."
_SHA = re.compile(r"[0-9a-f]{7,40}")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Press:
    """A press being handled: the event, what the message is about, and who answers whom."""

    event: ActionEvent
    link: MessageLink
    entry: DigestEntry
    poster: ChatPoster  # posts in the thread
    presser: Presser  # answers the presser


Handler = Callable[[Press], Awaitable[None]]


class ButtonDesk:
    """Handles a press of Explain more, Show diff, 👍 or 👎 on one of our analyses."""

    def __init__(
        self,
        engine: DigestEngine,
        store: DigestStores,
        chat: ChatStore,
        answerer: Answerer,
        *,
        votes: VoteStore,
        seen: InboundLog,
        budget: DiffBudget,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._store = store
        self._chat = chat
        self._answerer = answerer
        self._votes = votes
        self._seen = seen
        self._budget = budget
        self._now = now

    @observed_press
    async def on_action(self, event: ActionEvent, poster: ChatPoster, presser: Presser) -> None:
        """Do what the button says; `poster` posts in the thread, `presser` answers the presser."""
        # Telegram warns a bad client can send any callback data: a SHA prefix or nothing.
        link = await self._chat.get_link(event.message) if _SHA.fullmatch(event.sha) else None
        entry = await self._entry(link, event.sha) if link else None
        if link is None or entry is None:
            await presser.acknowledge("I no longer know what this message is about.", alert=True)
            return
        handlers: dict[str, Handler] = {
            "explain": self._explain,
            "diff": self._diff,
            "up": self._vote,
            "down": self._vote,
        }
        await handlers[event.kind](Press(event, link, entry, poster, presser))

    async def _entry(self, link: MessageLink, prefix: str) -> DigestEntry | None:
        """The pressed commit with the analysis its digest shows (else the cached one)."""
        sha = next((s for s in link.shas if s.startswith(prefix)), prefix)
        digest = await self._store.get_digest(link.repo, link.day, link.tz, link.language)
        for entry in digest.entries if digest else ():
            if entry.commit.sha.startswith(sha):
                return entry
        commits = await self._chat.find_commits([link.repo], sha=sha)
        if not commits:
            return None
        analyses, _ = await self._engine.analyze(commits[:1], link.language, tz=link.tz)
        return DigestEntry(commits[0], analyses[0])

    async def _vote(self, press: Press) -> None:
        event, link, entry, presser = press.event, press.link, press.entry, press.presser
        sign, value = ("👍", UP) if event.kind == "up" else ("👎", DOWN)
        vote = Vote(event.target.platform, event.user, link.repo, entry.commit.sha, value)
        change = await self._votes.vote(vote, self._now())
        short = entry.commit.short_sha
        said = {
            VoteChange.NEW: f"Thanks: {sign} noted for {short}.",
            VoteChange.SAME: f"You already voted {sign} on {short}: it counts once.",
            VoteChange.CHANGED: f"Your vote on {short} is now {sign}.",
        }
        ids = {"platform": event.target.platform, "chat": event.target.channel, "user": event.user}
        _log.info(say.vote(sign, link.repo, short, change.value), extra={**ids, "sha": vote.sha})
        await presser.acknowledge(said[change])

    async def _explain(self, press: Press) -> None:
        event, link, entry, presser = press.event, press.link, press.entry, press.presser
        target, short = event.target, entry.commit.short_sha
        key = f"explain:{target.channel}:{link.root_id}:{entry.commit.sha}"
        if not await self._seen.first_time(target.platform, key, self._now()):
            await presser.acknowledge(f"The explanation of {short} is already in this thread.")
            return
        await presser.acknowledge(f"Explaining {short} in the thread…")
        try:
            await self._explain_in_thread(press)
        except BaseException:  # not explained after all: the next press must try again
            await self._seen.forget(target.platform, key)
            raise

    async def _explain_in_thread(self, press: Press) -> None:
        event, link, entry = press.event, press.link, press.entry
        target = event.target
        digest = await self._store.get_digest(link.repo, link.day, link.tz, link.language)
        whole = await self._store.get_commit(link.repo, entry.commit.sha)  # its diff, to read
        context = FollowUpContext(digest, (entry,), link.language, (whole,) if whole else ())
        depth = await self._answerer.explain(context)
        text = safe_text(depth or await StoredAnswerer().answer("", context, []))
        root = MessageRef(target, link.root_id)
        for ref in await send(press.poster, target, TextMessage(text), root):
            await self._chat.link(ref, root, replace(link, shas=(entry.commit.sha,)))
        await self._chat.add_turn(root, "bot", text)

    async def _diff(self, press: Press) -> None:
        event, link, entry, presser = press.event, press.link, press.entry, press.presser
        commit, minute = entry.commit, int(self._now().timestamp() // 60)
        line = await presser.private_line()  # before the de-duplication: a retry must work
        if line is None:  # the platform has told the presser how to open one
            return
        key = f"diff:{event.target.channel}:{event.user}:{commit.sha}:{minute}"
        if not await self._seen.first_time(event.target.platform, key, self._now()):
            await presser.acknowledge(f"The diff of {commit.short_sha} is on its way to you.")
            return
        await presser.acknowledge("")  # the private messages say it; stop the spinner now
        whole = await self._store.get_commit(link.repo, commit.sha)  # entries carry no patches
        if whole is None:
            await send(line.poster, line.target, TextMessage(_NO_DIFF, private=True), line.thread)
            return
        budgeted = await asyncio.to_thread(self._budget.apply, whole)  # CPU: off the loop
        heading = (
            f"The diff of {commit.short_sha} ({commit.title}) in {link.repo}, as the analysis "
            f"read it (~{budgeted.coverage.used_tokens} tokens):"
        )
        await send(
            line.poster, line.target, TextMessage(safe_text(heading), private=True), line.thread
        )
        code = budgeted.text or "(no patch: the commit changes no text)"
        await send(line.poster, line.target, CodeMessage(code), line.thread)
