"""A Slack Web API emulator: auth.test, chat.postMessage/postEphemeral with Slack's limits,
conversations.history/replies with `oldest` and cursor paging, and an optional strict rate limit.
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
        return Response(200, {"ok": False, "error": "unknown_method"})

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
        total = 0
        for block in blocks:
            text = (block.get("text") or {}).get("text", "")
            if block.get("type") == "section" and len(text) > SECTION_LIMIT:
                return "invalid_blocks"
            total += len(text)
        return "msg_blocks_too_long" if total > BLOCKS_TEXT_LIMIT else None
