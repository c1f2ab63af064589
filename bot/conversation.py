"""The conversation core: commands, digest posts with linked threads, explain, follow-ups."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.chat import (
    ChatPoster,
    ChatStore,
    ChatTarget,
    CommandEvent,
    EntryMessage,
    MessageLink,
    MessageRef,
    TextMessage,
    ThreadReplyEvent,
    send,
)
from bot.commands import (
    DigestCommand,
    ExplainCommand,
    HelpCommand,
    help_text,
    parse_command,
)
from bot.days import DayWindow, parse_day
from bot.delivery import Publisher, post_key
from bot.digest import DigestEngine, DigestStores
from bot.errors import CommandError, DateSpecError, SourceError
from bot.followup import Answerer, FollowUpContext
from bot.models import Commit, DigestEntry, RepoDigest, order_entries
from bot.observed import observed_command, observed_follow_up
from bot.ports import CommitSource
from bot.sanitize import safe_text

_SHA_WORD = re.compile(r"\b[0-9a-f]{7,40}\b")
_PR_WORD = re.compile(r"#(\d{1,7})\b")


@dataclass(frozen=True)
class ChannelSetup:
    """What a channel digests: its repositories (`name → source`), zone and language."""

    sources: dict[str, CommitSource]
    tz: str
    language: str


class Conversation:
    """Handles inbound events for every platform; adapters only translate."""

    def __init__(
        self,
        engine: DigestEngine,
        store: DigestStores,
        chat: ChatStore,
        channels: Callable[[ChatTarget], ChannelSetup],
        answerer: Answerer,
        *,
        publisher: Publisher,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._store = store
        self._chat = chat
        self._channels = channels
        self._answerer = answerer
        self._publisher = publisher
        self._now = now

    @observed_command
    async def on_command(self, event: CommandEvent, poster: ChatPoster) -> None:
        """Run one `/digest …` command; errors and help go to the sender only."""
        try:
            command = parse_command(event.text)
            if isinstance(command, HelpCommand):
                await send(poster, event.target, TextMessage(help_text(), private=True))
            elif isinstance(command, ExplainCommand):
                await self._explain(event.target, command, poster)
            else:
                await self._digest(event, command, poster)
        except (CommandError, DateSpecError, SourceError) as exc:
            usage = f"{exc}\nUsage:\n{help_text()}"
            await send(poster, event.target, TextMessage(safe_text(usage), private=True))

    async def _digest(
        self, event: CommandEvent, command: DigestCommand, poster: ChatPoster
    ) -> None:
        target = event.target
        setup = self._channels(target)
        names = [command.repo] if command.repo else list(setup.sources)
        if not names:
            raise CommandError(
                f"this chat follows no repository yet: add a [[subscription]] for "
                f"{target.channel} to the bot's config"
            )
        unknown = [n for n in names if n not in setup.sources]
        if unknown:
            known = ", ".join(setup.sources)
            raise CommandError(f"this channel does not follow {unknown[0]}; it follows: {known}")
        for name in names:
            digest = await self.digest_for(setup, name, command.day)
            # Keyed by the command's own id: a re-delivered command posts once, a new one again.
            key = post_key(f"command-{event.event_id}", target, digest)
            await self._publisher.publish(target, digest, poster, key=key)

    async def digest_for(self, setup: ChannelSetup, name: str, day_spec: str) -> RepoDigest:
        """A stored digest of a past day, or one built now (through the analysis cache)."""
        source = setup.sources[name]
        day = parse_day(day_spec, setup.tz, self._now())
        if day is None:
            latest = await source.latest_commit_time()
            if latest is None:
                raise SourceError(f"{name} has no commits yet")
            day = DayWindow.of(latest, setup.tz).day
        today = DayWindow.of(self._now(), setup.tz).day
        if day < today:
            stored = await self._store.get_digest(name, day, setup.tz, setup.language)
            if stored is not None:
                return stored
        return await self._engine.build(source, DayWindow(day, setup.tz), setup.language)

    async def _link(
        self, refs: list[MessageRef], root: MessageRef, digest: RepoDigest, shas: tuple[str, ...]
    ) -> None:
        link = MessageLink.of(root, digest, shas)
        for ref in refs:
            await self._chat.link(ref, root, link)

    async def _explain(
        self, target: ChatTarget, command: ExplainCommand, poster: ChatPoster
    ) -> None:
        setup = self._channels(target)
        commits = await self._resolve(setup, command)
        if not commits:
            what = f"#{command.pr_number}" if command.pr_number is not None else command.sha
            searched = ", ".join(setup.sources) or "no repositories"
            reply = TextMessage(f"I found no commit for {what} in {searched}.", private=True)
            await send(poster, target, reply)
            return
        analyses, _ = await self._engine.analyze(commits, setup.language, tz=setup.tz)
        first = commits[0]
        entries = order_entries([DigestEntry(c, a) for c, a in zip(commits, analyses, strict=True)])
        digest = RepoDigest(
            first.repo,
            DayWindow.of(first.committed_at, setup.tz).day,
            setup.tz,
            setup.language,
            entries,
        )
        refs = await send(poster, target, EntryMessage(digest, entries))
        root = refs[0]
        await self._link(refs, root, digest, tuple(c.sha for c in commits))
        depth = await self._answerer.explain(FollowUpContext(digest, entries, setup.language))
        if depth:
            more = await send(poster, target, TextMessage(safe_text(depth)), root)
            await self._link(more, root, digest, tuple(c.sha for c in commits))

    async def _resolve(self, setup: ChannelSetup, command: ExplainCommand) -> list[Commit]:
        repos = list(setup.sources)
        found = await self._chat.find_commits(repos, command.pr_number, command.sha)
        if found:
            return found
        for source in setup.sources.values():
            found.extend(await source.find(pr_number=command.pr_number, sha=command.sha))
        return found

    @observed_follow_up
    async def on_thread_reply(self, event: ThreadReplyEvent, poster: ChatPoster) -> bool:
        """Answer a follow-up in one of our threads; False when the thread is not ours."""
        anchor = event.reply_to or event.thread_root
        link = await self._chat.get_link(anchor) if anchor else None
        if link is None and event.thread_root and event.thread_root != anchor:
            link = await self._chat.get_link(event.thread_root)
        if link is None:
            return False
        root = MessageRef(event.target, link.root_id)
        context = await self._context(link, event.text)
        history = await self._chat.turns(root)
        answer = safe_text(await self._answerer.answer(event.text, context, history))
        refs = await send(poster, event.target, TextMessage(answer), root)
        await self._chat.add_turn(root, "user", event.text)
        await self._chat.add_turn(root, "bot", answer)
        for ref in refs:
            await self._chat.link(ref, root, link)
        return True

    async def _context(self, link: MessageLink, question: str) -> FollowUpContext:
        digest = await self._store.get_digest(link.repo, link.day, link.tz, link.language)
        entries = digest.entries if digest else ()
        chosen = choose_entries(entries, link.shas, question)
        return FollowUpContext(digest, chosen, link.language)


def choose_entries(
    entries: tuple[DigestEntry, ...], linked: tuple[str, ...], question: str
) -> tuple[DigestEntry, ...]:
    """The commits a question concerns: the one replied to, those named, else none."""
    if len(linked) == 1:
        return tuple(e for e in entries if e.commit.sha == linked[0])
    prs = {int(n) for n in _PR_WORD.findall(question)}
    shas = _SHA_WORD.findall(question.lower())
    named = [
        e
        for e in entries
        if e.commit.pr_number in prs or any(e.commit.sha.startswith(s) for s in shas)
    ]
    if named:
        return tuple(named)
    words = {w for w in re.findall(r"[a-z0-9_]{4,}", question.lower())}
    scored = [
        (len(words & set(re.findall(r"[a-z0-9_]{4,}", e.commit.title.lower()))), e) for e in entries
    ]
    best = max((s for s, _ in scored), default=0)
    pool = [e for e in entries if e.commit.sha in linked] if linked else []
    if best >= 2:
        return tuple(e for s, e in scored if s == best)
    return tuple(pool)
