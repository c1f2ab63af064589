"""`/digest subscribe|unsubscribe|subscriptions|settings`: a team manages its own digests in chat.

Refusals and errors go to the asker only; a change is said in the chat, so the team sees it.
The config file's subscriptions are listed too but are changed in the file, never from chat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot import log_messages as say
from bot.cadence import next_slot
from bot.channels import TeamChannels
from bot.chat import ChatPoster, ChatTarget, CommandEvent, TextMessage, send
from bot.commands import (
    SettingsCommand,
    SubscribeCommand,
    SubscriptionsCommand,
    TeamCommand,
    UnsubscribeCommand,
    parse_command,
    spec_of,
)
from bot.errors import ChatError, CommandError, SourceError
from bot.ports import CommitSource
from bot.sanitize import safe_text
from bot.subscriptions import WEEKDAYS, Subscription
from bot.team import (
    GITHUB,
    ChatAuthority,
    ChatSubscription,
    Listed,
    SubscriptionStore,
    build_subscription,
    chat_name,
    destination,
    repo_of,
    shown_repo,
)

_TEAM_WORDS = ("subscribe", "unsubscribe", "subscriptions", "settings")
_TEAM_COMMANDS = (SubscribeCommand, UnsubscribeCommand, SubscriptionsCommand, SettingsCommand)
_NOT_SUBSCRIBED = "this chat is not subscribed to {repo} (see /digest subscriptions)"
_log = logging.getLogger(__name__)


def team_word(text: str) -> bool:
    """True when a command's text is one of the team commands (the desk answers it)."""
    words = text.strip().lower().split()
    if words and words[0] in ("/digest", "digest"):
        words = words[1:]
    return bool(words) and words[0] in _TEAM_WORDS


class TeamDesk:
    """Runs the team commands against the subscription store; adapters supply who may."""

    def __init__(
        self,
        store: SubscriptionStore,
        channels: TeamChannels,
        files: tuple[Subscription, ...],
        github: Callable[[str], CommitSource],
        *,
        authorities: Mapping[str, ChatAuthority],
        changed: Callable[[], None] = lambda: None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._channels = channels
        self._files = files
        self._github = github
        self._authorities = authorities  # filled as platforms are added
        self._changed = changed  # wakes this process's clock, if it runs one
        self._now = now

    async def on_command(self, event: CommandEvent, poster: ChatPoster) -> bool:
        """Answer a team command (True); for any other command, only bring channels up to date."""
        await self._channels.refresh()
        if not team_word(event.text):
            return False
        try:
            command = parse_command(event.text)
            assert isinstance(command, _TEAM_COMMANDS)  # the first word said so
            await self._run(event, command, poster)
        except (CommandError, SourceError) as exc:
            await _tell(poster, event.target, str(exc))
        return True

    async def _run(self, event: CommandEvent, command: TeamCommand, poster: ChatPoster) -> None:
        if spec_of(command).who == "managers" and not await self._allowed(event, poster):
            return
        if isinstance(command, SubscriptionsCommand):
            await _tell(poster, event.target, self._listing(await self.listed(event.target)))
        elif isinstance(command, SubscribeCommand):
            await self._subscribe(event, command, poster)
        elif isinstance(command, UnsubscribeCommand):
            await self._unsubscribe(event, command.repo, poster)
        else:
            await self._settings(event, command, poster)

    async def _allowed(self, event: CommandEvent, poster: ChatPoster) -> bool:
        authority = self._authorities.get(event.target.platform)
        refusal = await authority.refusal(event.target, event.user) if authority else None
        if refusal is None:
            return True
        _log.info(say.team_refused(event.user, refusal), extra=_ids(event))
        await _tell(poster, event.target, f"You can't change what this chat gets: {refusal}.")
        return False

    async def listed(self, target: ChatTarget) -> list[Listed]:
        """Every subscription posting to a chat: the config file's first, then those made here."""
        files = [
            Listed(s, shown_repo(spec), "file")
            for s in self._files
            if s.target == target
            for spec in s.repos
        ]
        made = await self._store.chat_subscriptions(target)
        return files + [Listed(c.subscription, c.repo, "chat") for c in made]

    def _from_file(self, target: ChatTarget, repo: str) -> Subscription | None:
        """The config file's subscription that brings `repo` to this chat, if one does."""
        setup = self._channels.from_file(target)
        known = {n.lower() for n in setup.sources} if setup else set()
        for s in self._files:
            if (s.target.platform, s.target.channel) != (target.platform, target.channel):
                continue
            if repo.lower() in known | {repo_of(spec).lower() for spec in s.repos}:
                return s
        return None

    async def _subscribe(
        self, event: CommandEvent, command: SubscribeCommand, poster: ChatPoster
    ) -> None:
        target = event.target
        self._not_from_file(target, command.repo)
        if await self._store.get(chat_name(target, command.repo)) is not None:
            raise CommandError(
                f"this chat already gets {command.repo}: change it with "
                f"/digest settings {command.repo} …"
            )
        try:
            repo = await self._github(command.repo).repo_name()
        except SourceError as exc:
            raise SourceError(f"I can't subscribe to {command.repo}: {exc}") from None
        base = self._channels(target)
        values = {"name": chat_name(target, repo), "repos": (GITHUB + repo,), **destination(target)}
        values |= {"tz": base.tz, "language": base.language, **command.options.given()}
        now = self._now()
        item = ChatSubscription(build_subscription(values), repo, event.user, now, now)
        await self._save(item)
        try:
            await _say(poster, target, f"Subscribed this chat to {repo}: {self._when(item)}.")
        except ChatError:  # the bot cannot post here (not invited): no subscription either
            await self._store.remove(item.name)
            self._changed()
            raise

    def _not_from_file(self, target: ChatTarget, repo: str) -> None:
        found = self._from_file(target, repo)
        if found is not None:
            raise CommandError(
                f"{repo} comes to this chat from the config file (subscription {found.name!r}): "
                "change it there"
            )

    async def _unsubscribe(self, event: CommandEvent, repo: str, poster: ChatPoster) -> None:
        self._not_from_file(event.target, repo)
        if not await self._store.remove(chat_name(event.target, repo)):
            raise CommandError(_NOT_SUBSCRIBED.format(repo=repo))
        self._changed()
        name = chat_name(event.target, repo)
        _log.info(say.subscription_removed(name, repo, event.user), extra=_ids(event))
        await _say(poster, event.target, f"Unsubscribed this chat from {repo}: no more posts.")

    async def _settings(
        self, event: CommandEvent, command: SettingsCommand, poster: ChatPoster
    ) -> None:
        current = await self._chosen(event.target, command.repo)
        old = current.subscription
        given = command.options.given()
        if "cadence" in given and "days" not in given and given["cadence"] != old.cadence:
            given["days"] = ("mon",) if given["cadence"] == "weekly" else WEEKDAYS
        subscription = build_subscription(old.model_dump() | given)
        changed = ChatSubscription(
            subscription, current.repo, current.created_by, current.created_at, self._now()
        )
        await self._save(changed)
        await _say(poster, event.target, f"Changed {current.repo}: {self._when(changed)}.")

    async def _chosen(self, target: ChatTarget, repo: str | None) -> ChatSubscription:
        if repo is not None:
            self._not_from_file(target, repo)
            found = await self._store.get(chat_name(target, repo))
            if found is None:
                raise CommandError(_NOT_SUBSCRIBED.format(repo=repo))
            return found
        made = await self._store.chat_subscriptions(target)
        if len(made) != 1:
            raise CommandError(
                "name the repository: /digest settings owner/repo …"
                if made
                else "this chat has no subscription made in chat: /digest subscribe owner/repo"
            )
        return made[0]

    async def _save(self, item: ChatSubscription) -> None:
        await self._store.save(item)
        self._changed()
        target = item.subscription.target
        ids = {"subscription": item.name, "platform": target.platform, "chat": target.channel}
        _log.info(say.subscription_saved(item.name, item.repo, item.created_by), extra=ids)

    def _when(self, item: ChatSubscription | Listed) -> str:
        return describe_schedule(item.subscription, self._now())

    def _listing(self, listed: list[Listed]) -> str:
        if not listed:
            return "This chat gets no digests yet: /digest subscribe owner/repo"
        lines = ["This chat gets:"]
        for item in listed:
            origin = (
                f"from the config file (subscription {item.subscription.name!r})"
                if item.origin == "file"
                else f"made in chat (change: /digest settings {item.repo} …)"
            )
            lines.append(f"• {item.repo} — {self._when(item)} — {origin}")
        return "\n".join(lines)


def describe_schedule(subscription: Subscription, now: datetime) -> str:
    """`daily at 09:00 Europe/Berlin on mon-fri, in en; next: Mon 2026-11-30 09:00`."""
    s = subscription
    days = "every day" if s.days == WEEKDAYS else ",".join(s.days)
    when = next_slot(s, now).astimezone(ZoneInfo(s.tz)).strftime("%a %Y-%m-%d %H:%M")
    return f"{s.cadence} at {s.time} {s.tz} on {days}, in {s.language}; next: {when}"


async def _tell(poster: ChatPoster, target: ChatTarget, words: str) -> None:
    """For the asker only (errors, refusals, listings)."""
    await send(poster, target, TextMessage(safe_text(words), private=True))


async def _say(poster: ChatPoster, target: ChatTarget, words: str) -> None:
    """For the whole chat: a change to what it gets."""
    await send(poster, target, TextMessage(safe_text(words)))


def _ids(event: CommandEvent) -> dict[str, object]:
    """The ids of a team command's log lines."""
    target = event.target
    return {"platform": target.platform, "chat": target.channel, "user": event.user}
