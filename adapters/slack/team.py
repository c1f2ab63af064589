"""Slack's side of team self-service: who may change a channel's subscriptions, and App Home."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.render import escape, mrkdwn
from bot.chat import ChatTarget
from bot.home import HomeBuilder, HomeView
from bot.layout import Span

PAGE = 200  # conversations.members: Slack recommends at most 200 a page
MAX_PAGES = 100
MAX_LISTED = 40  # a Home tab holds 100 blocks: subscriptions and digests share them
_ID = re.compile(r"^[A-Z0-9]+$")
_ORIGIN = {"file": "from the config file", "chat": "made in the channel"}
_log = logging.getLogger(__name__)


class SlackMembership:
    """Implements bot.team.ChatAuthority: the channel's members, or only configured managers.

    Managers are user ids (U…, W…) and user-group ids (S…), from `[team] slack_managers`.
    """

    def __init__(self, client: AsyncWebClient, managers: tuple[str, ...] = ()) -> None:
        self._client = client
        self._managers = managers

    async def refusal(self, target: ChatTarget, user: str) -> str | None:
        """None when `user` may change the channel's subscriptions, else why not."""
        try:
            if self._managers:
                return None if await self._manager(user) else _NOT_MANAGER
            members = await self._members(target.channel)
        except SlackApiError as exc:
            code = exc.response.get("error", "unknown") if exc.response else "unknown"
            _log.warning("slack: could not check who may change %s: %s", target.channel, code)
            return f"I could not check who may (Slack said {code}; invite me to the channel)"
        except (aiohttp.ClientError, TimeoutError):
            return "I could not reach Slack to check who may; try again in a minute"
        return None if user in members else "only members of this channel can; join it first"

    async def _manager(self, user: str) -> bool:
        if user in self._managers:
            return True
        for group in (m for m in self._managers if m.startswith("S")):
            answer = await self._client.usergroups_users_list(usergroup=group)
            if user in (answer.get("users") or []):
                return True
        return False

    async def _members(self, channel: str) -> set[str]:
        first = self._client.conversations_members(channel=channel, limit=PAGE)
        return set(await _every(first, "members"))


async def _every(first: Awaitable[AsyncSlackResponse], key: str) -> list[Any]:
    """The `key` items of every page (slack_sdk follows the cursor), up to MAX_PAGES pages."""
    items: list[Any] = []
    pages = 0
    async for page in await first:
        items += page.get(key) or []
        pages += 1
        if pages == MAX_PAGES:
            break
    return items


_NOT_MANAGER = "only the people this bot's operators named as managers can"


def _channel(target: ChatTarget) -> str:
    # A channel id is letters and digits: written as a mention, Slack shows its name.
    return f"<#{target.channel}>" if _ID.match(target.channel) else escape(target.channel)


def home_view(view: HomeView) -> dict[str, Any]:
    """The Home tab: the workspace's subscriptions, then its latest digests linked to pages."""

    def section(text: str) -> dict[str, Any]:
        return {"type": "section", "text": {"type": "mrkdwn", "text": text}}

    blocks: list[dict[str, Any]] = [section("*Subscriptions*")]
    for s in view.subscriptions[:MAX_LISTED]:
        head = mrkdwn((Span(s.repo, "bold"),))
        rest = mrkdwn((Span(f" — {s.schedule} — {_ORIGIN[s.origin]}"),))
        blocks.append(section(f"{head} → {_channel(s.target)}{rest}"))
    if not view.subscriptions:
        blocks.append(section("None yet: in a channel, `/digest subscribe owner/repo`"))
    blocks += [{"type": "divider"}, section("*Latest digests*")]
    for d in view.digests:
        name = f"{d.repo} — {d.day.isoformat()}"
        title = mrkdwn((Span(name, "link", d.url),)) if d.url else escape(name)
        blocks.append(section(f"{title}\n{escape(d.stats)}"))
    if not view.digests:
        blocks.append(section("No digests yet."))
    return {"type": "home", "blocks": blocks}


async def _channels_of(client: AsyncWebClient, user: str) -> set[str]:
    """The channels `user` is in (users.conversations, paged); none if Slack will not say."""
    types = "public_channel,private_channel"
    first = client.users_conversations(user=user, types=types, exclude_archived=True, limit=PAGE)
    try:
        return {str(c["id"]) for c in await _every(first, "channels")}
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        _log.warning("slack home for %s: could not list their channels: %s", user, exc)
        return set()


def register_home(app: AsyncApp, home: HomeBuilder) -> None:
    """On app_home_opened (the Home tab), publish the view for that user."""

    async def on_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab
        chats = await _channels_of(client, event["user"])
        view = home_view(await home.view("slack", chats))
        _log.info("slack home for %s: %d blocks", event.get("user"), len(view["blocks"]))
        await client.views_publish(user_id=event["user"], view=view)

    app.event("app_home_opened")(on_home)
