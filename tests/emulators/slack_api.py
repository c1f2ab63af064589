"""A Slack Web API emulator: auth.test, chat.postMessage/postEphemeral with Slack's limits,
conversations.history/replies with `oldest` and cursor paging, and an optional strict rate limit;
for the team features, views.publish (Home tabs), conversations.members (paged) and
usergroups.users.list, and the limits of actions blocks and buttons.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.emulators.loopback import LoopbackServer, RateWindow, Request, Response

BOT_USER = "UDIGESTBOT"
SECTION_LIMIT = 3000
BLOCK_LIMIT = 50
BLOCKS_TEXT_LIMIT = 12_000
HOME_BLOCK_LIMIT = 100
ACTIONS_ELEMENT_LIMIT = 25
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
ID_LIMIT = 255


@dataclass
class Posted:
    """A message as Slack stored it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    user: str | None = None  # set for an ephemeral message
    metadata: dict[str, Any] | None = None
    author: str = BOT_USER

    def as_api(self, with_metadata: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata:
            body["metadata"] = self.metadata
        return body

    def section_texts(self) -> list[str]:
        return [b["text"]["text"] for b in self.blocks if b.get("type") == "section"]

    def all_text(self) -> str:
        return "\n".join(self.section_texts())

    def buttons(self) -> list[dict[str, Any]]:
        return [e for b in self.blocks if b.get("type") == "actions" for e in b["elements"]]


class SlackEmulator(LoopbackServer):
    """POST /api/<method>, JSON or form bodies, Bearer tokens; faults via `fail()`."""

    def __init__(self, token: str = "xoxb-test", app_token: str = "xapp-test") -> None:
        super().__init__()
        self.token = token
        self.app_token = app_token
        self.posted: list[Posted] = []
        self.socket_url = ""
        self.break_after: int | None = None  # fail once when this many messages exist
        self.not_in: set[str] = set()  # channels the bot was never invited to
        self.drop_after: int | None = None  # post the message, then cut the connection once
        self.responses: list[dict[str, Any]] = []  # what arrived at response_url
        # A per-channel limit stricter than Slack documents: 429 with Retry-After beyond it.
        self.channel_rate: RateWindow | None = None
        self.page_cap = 1000  # most messages a history page returns, whatever `limit` asks
        self.members: dict[str, list[str]] = {}  # channel → its members (conversations.members)
        self.usergroups: dict[str, list[str]] = {}  # user group → its users
        self.homes: dict[str, dict[str, Any]] = {}  # user → the Home tab view published last
        self._last_ts = 0.0
        self._ts_lock = threading.Lock()

    def next_ts(self) -> str:
        """A message ts: the time, made unique like Slack's."""
        with self._ts_lock:
            self._last_ts = max(time.time(), self._last_ts + 0.000001)
            return f"{self._last_ts:.6f}"

    def chatter(self, channel: str, count: int, thread_ts: str | None = None) -> None:
        """Messages from people (no metadata): a busy channel, or a busy thread."""
        for i in range(count):
            ts = self.next_ts()
            self.posted.append(Posted(channel, ts, f"chatter {i}", [], thread_ts, author="UPERSON"))

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def channel_messages(self, channel: str) -> list[Posted]:
        return [p for p in self.posted if p.channel == channel and p.user is None]

    def ours(self, channel: str) -> list[Posted]:
        """The bot's messages in a channel (not ephemeral, not people's)."""
        return [p for p in self.channel_messages(channel) if p.author == BOT_USER]

    def thread(self, root_ts: str) -> list[Posted]:
        return [p for p in self.posted if p.thread_ts == root_ts]

    def calls(self, method: str) -> int:
        return sum(1 for r in self.requests if r.path == f"/api/{method}")

    def response_url(self, trigger: str) -> str:
        return f"{self.url}/respond/{trigger}"

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/respond/"):
            self.responses.append(request.json())
            return Response(200, "ok")
        method = request.path.removeprefix("/api/")
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        expected = self.app_token if method == "apps.connections.open" else self.token
        if token != expected:
            return Response(200, {"ok": False, "error": "invalid_auth"})
        args = self._args(request)
        if method == "auth.test":
            return Response(
                200,
                {
                    "ok": True,
                    "user_id": BOT_USER,
                    "bot_id": "BDIGEST",
                    "team_id": "T1",
                    "user": "digestbot",
                },
            )
        if method == "apps.connections.open":
            return Response(200, {"ok": True, "url": self.socket_url})
        if method in ("chat.postMessage", "chat.postEphemeral"):
            return self._post(method, args)
        if method in ("conversations.history", "conversations.replies"):
            return self._read(method, args)
        team = {
            "conversations.members": self._members,
            "users.conversations": self._user_channels,
            "usergroups.users.list": self._usergroup,
            "views.publish": self._publish,
        }
        if method in team:
            return team[method](args)
        return Response(200, {"ok": False, "error": "unknown_method"})

    def _members(self, args: dict[str, Any]) -> Response:
        """conversations.members: the member ids, `limit` a page, with a cursor."""
        channel = str(args.get("channel"))
        if channel not in self.members or channel in self.not_in:
            return Response(200, {"ok": False, "error": "channel_not_found"})
        everyone = self.members[channel]
        start = int(base64.b64decode(args["cursor"]).decode()) if args.get("cursor") else 0
        size = min(int(args.get("limit") or 100), 999)
        more = start + size < len(everyone)
        cursor = base64.b64encode(str(start + size).encode()).decode() if more else ""
        body = {"ok": True, "members": everyone[start : start + size]}
        return Response(200, {**body, "response_metadata": {"next_cursor": cursor}})

    def _user_channels(self, args: dict[str, Any]) -> Response:
        """users.conversations: the channels a user is a member of (one page: they are few)."""
        user = str(args.get("user"))
        ids = [channel for channel, members in self.members.items() if user in members]
        body = {"ok": True, "channels": [{"id": channel} for channel in ids]}
        return Response(200, {**body, "response_metadata": {"next_cursor": ""}})

    def _usergroup(self, args: dict[str, Any]) -> Response:
        group = str(args.get("usergroup"))
        if group not in self.usergroups:
            return Response(200, {"ok": False, "error": "no_such_subteam"})
        return Response(200, {"ok": True, "users": self.usergroups[group]})

    def _publish(self, args: dict[str, Any]) -> Response:
        """views.publish: a Home tab of at most 100 blocks, for one user."""
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "home" or not args.get("user_id"):
            return Response(200, {"ok": False, "error": "invalid_arguments"})
        blocks = view.get("blocks") or []
        if len(blocks) > HOME_BLOCK_LIMIT or self._check_sections(blocks):
            return Response(200, {"ok": False, "error": "invalid_blocks"})
        self.homes[str(args["user_id"])] = view
        return Response(200, {"ok": True, "view": {"id": "V1", **view}})

    @staticmethod
    def args_of(request: Request) -> dict[str, Any]:
        """The arguments of a Web API call, however they were sent."""
        return SlackEmulator._args(request)

    @staticmethod
    def _args(request: Request) -> dict[str, Any]:
        query: dict[str, Any] = {k: v[0] for k, v in request.query.items()}  # GET methods
        if "json" in request.headers.get("content-type", ""):
            return {**query, **(request.json() or {})}
        form: dict[str, Any] = {**query, **request.form()}
        for key in ("blocks", "metadata"):
            if isinstance(form.get(key), str):
                form[key] = json.loads(form[key])
        return form

    @property
    def rate_limited(self) -> int:
        """429s answered."""
        return self.channel_rate.refused if self.channel_rate else 0

    def _throttled(self, channel: str) -> Response | None:
        wait = self.channel_rate.check(channel) if self.channel_rate else None
        if wait is None:
            return None
        return Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)})

    def _refusal(self, method: str, args: dict[str, Any]) -> str | None:
        """Slack's error code for a post it would refuse, if any."""
        if self.break_after is not None and len(self.posted) >= self.break_after:
            self.break_after = None
            return "fatal_error"
        if not args.get("channel"):
            return "channel_not_found"
        if args["channel"] in self.not_in:
            return "not_in_channel"
        blocks = args.get("blocks") or []
        problem = self._check_blocks(blocks)
        if problem:
            return problem
        if not blocks and not args.get("text"):
            return "no_text"
        thread_ts = args.get("thread_ts")
        if thread_ts and not any(p.ts == thread_ts and p.thread_ts is None for p in self.posted):
            return "thread_not_found"
        return None

    def _post(self, method: str, args: dict[str, Any]) -> Response:
        if method == "chat.postMessage":
            throttled = self._throttled(str(args.get("channel")))
            if throttled is not None:
                return throttled
        refusal = self._refusal(method, args)
        if refusal:
            return Response(200, {"ok": False, "error": refusal})
        blocks = args.get("blocks") or []
        thread_ts = args.get("thread_ts")
        ts = self.next_ts()
        user = args.get("user") if method == "chat.postEphemeral" else None
        self.posted.append(
            Posted(
                args["channel"],
                ts,
                args.get("text", ""),
                blocks,
                thread_ts,
                user,
                args.get("metadata"),
            )
        )
        if self.drop_after is not None and len(self.posted) > self.drop_after:
            self.drop_after = None
            return Response(0)  # Slack posted it; the answer never reaches the client
        if user:
            return Response(200, {"ok": True, "message_ts": ts})
        return Response(
            200, {"ok": True, "channel": args["channel"], "ts": ts, "message": {"ts": ts}}
        )

    def _read(self, method: str, args: dict[str, Any]) -> Response:
        """History newest first, a thread parent first then oldest first; `oldest`, cursor."""
        channel = args.get("channel")
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        mine = [p for p in self.posted if p.channel == channel and p.user is None]
        if method == "conversations.replies":
            root = args.get("ts")
            mine = [p for p in mine if root in (p.ts, p.thread_ts)]
        else:
            mine = [p for p in reversed(mine) if p.thread_ts is None]
        oldest = float(args.get("oldest") or 0)
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        mine = [p for p in mine if float(p.ts) > oldest or (inclusive and float(p.ts) == oldest)]
        start = int(base64.b64decode(args["cursor"]).decode()) if args.get("cursor") else 0
        size = min(int(args.get("limit") or 100), self.page_cap)
        page = mine[start : start + size]
        body: dict[str, Any] = {"ok": True, "messages": [p.as_api(with_metadata) for p in page]}
        more = start + size < len(mine)
        body["has_more"] = more
        cursor = base64.b64encode(str(start + size).encode()).decode() if more else ""
        body["response_metadata"] = {"next_cursor": cursor}
        return Response(200, body)

    @staticmethod
    def _check_blocks(blocks: list[dict[str, Any]]) -> str | None:
        if len(blocks) > BLOCK_LIMIT:
            return "invalid_blocks"
        problem = SlackEmulator._check_sections(blocks)
        if problem:
            return problem
        total = sum(len((b.get("text") or {}).get("text", "")) for b in blocks)
        return "msg_blocks_too_long" if total > BLOCKS_TEXT_LIMIT else None

    @staticmethod
    def _check_sections(blocks: list[dict[str, Any]]) -> str | None:
        """Sections ≤ 3,000 characters; actions blocks and buttons within their limits."""
        block_ids = [b["block_id"] for b in blocks if "block_id" in b]
        if len(block_ids) != len(set(block_ids)) or any(len(i) > ID_LIMIT for i in block_ids):
            return "invalid_blocks"
        for block in blocks:
            text = (block.get("text") or {}).get("text", "")
            if block.get("type") == "section" and len(text) > SECTION_LIMIT:
                return "invalid_blocks"
            if block.get("type") == "actions" and not _valid_actions(block):
                return "invalid_blocks"
        return None


def _valid_actions(block: dict[str, Any]) -> bool:
    """At most 25 elements; buttons with a plain_text label ≤ 75, action_id ≤ 255 and unique
    in the block, value ≤ 2,000 (Block Kit reference)."""
    elements = block.get("elements") or []
    ids = [e.get("action_id", "") for e in elements]
    if not elements or len(elements) > ACTIONS_ELEMENT_LIMIT or len(ids) != len(set(ids)):
        return False
    for element in elements:
        label = element.get("text") or {}
        if element.get("type") != "button" or label.get("type") != "plain_text":
            return False
        if not 0 < len(label.get("text", "")) <= BUTTON_TEXT_LIMIT:
            return False
        if len(element.get("action_id", "")) > ID_LIMIT:
            return False
        if len(element.get("value", "")) > BUTTON_VALUE_LIMIT:
            return False
    return True
