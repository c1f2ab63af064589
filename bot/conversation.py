"""The conversation core: commands, digest posts with linked threads, explain, follow-ups."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

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
from bot.followup import CONTEXT_COMMITS, Answerer, FollowUpContext
from bot.i18n import text
from bot.models import Commit, DigestEntry, RepoDigest, order_entries
from bot.observed import observed_command, observed_follow_up
from bot.ports import CommitSource
from bot.sanitize import safe_text

if TYPE_CHECKING:
    from bot.subscribe import TeamDesk

_SHA_WORD = re.compile(r"\b[0-9a-f]{7,40}\b")
_PR_WORD = re.compile(r"#(\d{1,7})\b")


@runtime_checkable
class ShowsWork(Protocol):
    """A poster that can show the asker a command is being worked on (optional).

    The console prints a line; a platform may show a typing action. Posters without it stay
    silent until the answer.
    """

    async def working(self, target: ChatTarget, line: str) -> None:
        """`line` (e.g. "Working on acme/api, 2026-11-26…") is about to take a while."""
        ...


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
        team: TeamDesk | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._chat = chat
        self._channels = channels
        self._answerer = answerer
        self._publisher = publisher
        self._now = now
        self._team = team  # subscribe, unsubscribe, subscriptions, settings

    @observed_command
    async def on_command(self, event: CommandEvent, poster: ChatPoster) -> None:
        """Run one `/digest …` command; errors and help go to the sender only, in its language."""
        if self._team is not None and await self._team.on_command(event, poster):
            return
        lang = self._channels(event.target).language
        try:
            command = parse_command(event.text, lang)
            if isinstance(command, HelpCommand):
                greeting = text(lang, "chat_greeting") + "\n" if command.greet else ""
                await _tell(poster, event.target, greeting + help_text(lang))
            elif isinstance(command, ExplainCommand):
                await self._explain(event.target, command, poster)
            elif isinstance(command, DigestCommand):
                await self._digest(event, command, poster)
            else:  # a team command where no team desk runs (the terminal)
                raise CommandError(text(lang, "chat_team_elsewhere"))
        except (CommandError, DateSpecError) as exc:
            usage = f"{exc}\n{text(lang, 'chat_usage')}\n{help_text(lang)}"
            await _tell(poster, event.target, usage)
        except SourceError as exc:  # the source's own line (GitHub, git): no usage to add
            await _tell(poster, event.target, text(lang, "chat_source_failed", error=exc))

    async def _digest(
        self, event: CommandEvent, command: DigestCommand, poster: ChatPoster
    ) -> None:
        target = event.target
        setup = self._channels(target)
        names = self._chosen(target, setup, command.repo)

        async def working(name: str, day: date) -> None:
            if isinstance(poster, ShowsWork):
                line = text(setup.language, "chat_working", repo=name, day=day.isoformat())
                await poster.working(target, line)

        for name in names:
            digest = await self.digest_for(setup, name, command.day, working)
            if not digest.entries:  # nothing to post: the asker alone hears so, and where to look
                await _tell(poster, target, await self._empty_day(setup, digest))
                continue
            # Keyed by the command's own id: a re-delivered command posts once, a new one again.
            key = post_key(f"command-{event.event_id}", target, digest)
            await self._publisher.publish(target, digest, poster, key=key)

    @staticmethod
    def _chosen(target: ChatTarget, setup: ChannelSetup, repo: str | None) -> list[str]:
        lang, known = setup.language, ", ".join(setup.sources)
        if not setup.sources:
            raise CommandError(text(lang, "chat_no_repos", channel=target.channel))
        if repo is None:
            return list(setup.sources)
        if repo in setup.sources:
            return [repo]
        key = "chat_not_followed" if "/" in repo else "chat_not_a_repo"
        raise CommandError(text(lang, key, repo=repo, word=repo, known=known))

    async def _empty_day(self, setup: ChannelSetup, digest: RepoDigest) -> str:
        lang, repo = setup.language, digest.repo
        line = text(lang, "chat_empty_day", repo=repo, day=digest.day.isoformat(), tz=setup.tz)
        latest = await setup.sources[repo].latest_commit_time()
        if latest is None:
            return line + text(lang, "sentence_gap") + text(lang, "chat_never_committed")
        last = DayWindow.of(latest, setup.tz).day.isoformat()
        return (
            line
            + text(lang, "sentence_gap")
            + text(lang, "chat_latest_commit", last=last, repo=repo)
        )

    async def digest_for(
        self,
        setup: ChannelSetup,
        name: str,
        day_spec: str,
        working: Callable[[str, date], Awaitable[None]] | None = None,
    ) -> RepoDigest:
        """A stored digest of a past day, or one built now (through the analysis cache).

        `working` is told before a build (which can take a while), never for a recall.
        """
        source = setup.sources[name]
        day = parse_day(day_spec, setup.tz, self._now())
        if day is None:
            latest = await source.latest_commit_time()
            if latest is None:
                raise SourceError(text(setup.language, "chat_no_commits_yet", repo=name))
            day = DayWindow.of(latest, setup.tz).day
        today = DayWindow.of(self._now(), setup.tz).day
        if day < today:
            stored = await self._store.get_digest(name, day, setup.tz, setup.language)
            if stored is not None:
                return stored
        if working:
            await working(name, day)
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
        setup, lang = self._channels(target), self._channels(target).language
        what = f"#{command.pr_number}" if command.pr_number is not None else str(command.sha)
        if isinstance(poster, ShowsWork):
            await poster.working(target, text(lang, "chat_working_explain", what=what))
        commits = await self._resolve(setup, command)
        if not commits:
            searched = ", ".join(setup.sources) or text(lang, "chat_nothing_followed")
            await _tell(poster, target, text(lang, "chat_not_found", what=what, searched=searched))
            return
        analyses, _ = await self._engine.analyze(commits, setup.language, tz=setup.tz)
        first = commits[0]
        pairs = zip(commits, analyses, strict=True)
        entries = order_entries([DigestEntry(c.info(), a) for c, a in pairs])
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
        context = FollowUpContext(digest, entries, setup.language, tuple(commits))
        depth = await self._answerer.explain(context)
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
        entries = await self._with_linked(link, digest.entries if digest else (), question)
        chosen = choose_entries(entries, link.shas, question)
        # The digest holds no patches: the diffs a follow-up reads come from the commit store.
        read = chosen[:CONTEXT_COMMITS]
        found = [await self._store.get_commit(e.commit.repo, e.commit.sha) for e in read]
        commits = tuple(c for c in found if c is not None)
        return FollowUpContext(digest, chosen, link.language, commits)

    async def _with_linked(
        self, link: MessageLink, entries: tuple[DigestEntry, ...], question: str
    ) -> tuple[DigestEntry, ...]:
        """The day's entries, plus commits the question names or the message links beyond it.

        A weekly thread spans seven days but is linked to its last. Their analyses come from
        the cache the daily digests filled (no model call then).
        """
        held = {e.commit.sha for e in entries}
        commits: list[Commit] = []
        for word in _SHA_WORD.findall(question):
            if not any(sha.startswith(word) for sha in held):
                commits += (await self._chat.find_commits([link.repo], sha=word))[:1]
        for sha in [s for s in link.shas if s not in held][:CONTEXT_COMMITS]:
            commits += [c for c in [await self._store.get_commit(link.repo, sha)] if c]
        commits = list({c.sha: c for c in commits}.values())[:CONTEXT_COMMITS]
        if not commits:
            return entries
        analyses, _ = await self._engine.analyze(commits, link.language, tz=link.tz)
        return (*entries, *(DigestEntry(c, a) for c, a in zip(commits, analyses, strict=True)))


async def _tell(poster: ChatPoster, target: ChatTarget, words: str) -> None:
    """Text for the asker only (help, errors, an empty day), made safe for chat."""
    await send(poster, target, TextMessage(safe_text(words), private=True))


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
