"""A Telegram Bot API emulator: parses HTML like Telegram, counts UTF-16, enforces replies;
inline keyboards (callback_data 1–64 bytes, ≤ 100 buttons, ≤ 8 a row), callback queries answered
once (answerCallbackQuery), getChatMember, and private chats only with users who started one.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from tests.emulators.loopback import LoopbackServer, RateWindow, Request, Response

BOT_ID = 999000
ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "tg-spoiler", "span", "blockquote", "tg-emoji",
}  # fmt: skip
MAX_UNITS = 4096
MAX_CALLBACK_BYTES = 64
MAX_BUTTONS = 100
MAX_ROW = 8
MAX_ANSWER = 200
_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class EntityError(ValueError):
    """What Telegram says when HTML does not parse."""


class _TelegramHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.entities = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise EntityError(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)
        self.entities += 1

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise EntityError(f'Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(markup: str) -> tuple[str, int]:
    """Visible text and entity count, or EntityError as Telegram would refuse it."""
    parser = _TelegramHtml()
    parser.feed(markup)
    parser.close()
    if parser.stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"')
    if parser.rawdata:  # a stray "<" that HTMLParser kept as an unfinished tag
        raise EntityError("Unexpected end of name token")
    return "".join(parser.text), parser.entities


@dataclass
class Sent:
    """A message the bot sent."""

    chat_id: str
    message_id: int
    html: str
    text: str
    reply_to: int | None
    thread_id: int | None
    keyboard: list[list[dict[str, Any]]] | None = None

    def callbacks(self) -> list[str]:
        return [b["callback_data"] for row in self.keyboard or [] for b in row]


def bad_request(description: str, code: int = 400) -> Response:
    return Response(code, {"ok": False, "error_code": code, "description": description})


class TelegramEmulator(LoopbackServer):
    """/bot<token>/<method>; form or JSON bodies like PTB sends them."""

    def __init__(self, token: str = "123:TEST") -> None:
        super().__init__()
        self.token = token
        self.sent: list[Sent] = []
        self.commands: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] = {}
        self.updates: list[dict[str, Any]] = []
        self.break_after: int | None = None
        self.migrated: dict[str, int] = {}  # groups upgraded to a supergroup: old id → new id
        self.kicked: set[str] = set()  # chats the bot was removed from
        # A per-chat limit stricter than Telegram documents: 429 with retry_after beyond it.
        self.chat_rate: RateWindow | None = None
        self._ids: defaultdict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._known: set[tuple[str, int]] = set()
        self.started: set[str] = set()  # users who opened a private chat with the bot
        self.admins: dict[str, set[int]] = {}  # group → its administrators' user ids
        self.owners: dict[str, int] = {}  # group → its creator
        self.answers: list[dict[str, Any]] = []  # answerCallbackQuery calls, in order
        # sendChatAction calls: (chat, action, how many messages had been sent before it)
        self.actions: list[tuple[str, str, int]] = []
        self._queries: set[str] = set()  # callback queries sent and not yet answered
        self._query_ids = itertools.count(1)

    @property
    def api_url(self) -> str:
        return f"{self.url}/bot"

    def in_chat(self, chat_id: str) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    def user_message(self, chat_id: str) -> int:
        """A message id taken by a user's message (so a reply to it is valid)."""
        message_id = next(self._ids[chat_id])
        self._known.add((chat_id, message_id))
        return message_id

    def handle(self, request: Request) -> Response:
        prefix = f"/bot{self.token}/"
        if not request.path.startswith(prefix):
            return bad_request("Unauthorized", 401)
        method = request.path.removeprefix(prefix)
        args = self._args(request)
        if method == "getMe":
            return self.ok(
                {"id": BOT_ID, "is_bot": True, "first_name": "digestbot", "username": "digest_bot"}
            )
        if method == "sendMessage":
            return self._send_message(args)
        if method == "setMyCommands":
            self.commands = args["commands"]
            return self.ok(True)
        if method in ("setWebhook", "deleteWebhook"):
            self.webhook = args if method == "setWebhook" else {}
            return self.ok(True)
        if method == "getUpdates":
            return self._get_updates()
        team = {
            "answerCallbackQuery": self._answer,
            "sendChatAction": self._chat_action,
            "getChatMember": self._member,
        }
        if method in team:
            return team[method](args)
        return bad_request(f"Not Found: method {method} not found", 404)

    def _chat_action(self, args: dict[str, Any]) -> Response:
        chat = str(args["chat_id"])
        if not chat.startswith("-") and chat not in self.started:
            return bad_request("Forbidden: bot can't initiate conversation with a user", 403)
        self.actions.append((chat, str(args["action"]), len(self.sent)))
        return self.ok(True)

    def press(self, user: int, message: Sent, data: str, update_id: int) -> dict[str, Any]:
        """The update Telegram sends when `user` presses a button of one of our messages."""
        query_id = f"q{next(self._query_ids)}"
        self._queries.add(query_id)
        chat = {"id": int(message.chat_id), "type": "supergroup"}
        return {
            "update_id": update_id,
            "callback_query": {
                "id": query_id,
                "from": {"id": user, "is_bot": False, "first_name": "Ann"},
                "chat_instance": "ci-1",
                "data": data,
                "message": {
                    "message_id": message.message_id,
                    "date": int(time.time()),
                    "chat": chat,
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "digestbot"},
                    "text": message.text,
                },
            },
        }

    def _answer(self, args: dict[str, Any]) -> Response:
        query = str(args.get("callback_query_id"))
        if query not in self._queries:
            return bad_request(_TOO_OLD)
        if len(str(args.get("text") or "")) > MAX_ANSWER:
            return bad_request("Bad Request: MESSAGE_TOO_LONG")
        self._queries.discard(query)  # a query is answered once
        self.answers.append(args)
        return self.ok(True)

    def _member(self, args: dict[str, Any]) -> Response:
        chat_id, user_id = str(args["chat_id"]), int(args["user_id"])
        person = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        if self.owners.get(chat_id) == user_id:
            return self.ok({"status": "creator", "user": person, "is_anonymous": False})
        if user_id in self.admins.get(chat_id, set()):
            rights = dict.fromkeys(_ADMIN_RIGHTS, False)
            return self.ok({"status": "administrator", "user": person, **rights})
        return self.ok({"status": "member", "user": person})

    @staticmethod
    def ok(result: Any) -> Response:
        return Response(200, {"ok": True, "result": result})

    @staticmethod
    def _args(request: Request) -> dict[str, Any]:
        if "json" in request.headers.get("content-type", ""):
            return dict(request.json() or {})
        out: dict[str, Any] = {}
        for key, value in request.form().items():
            try:  # PTB JSON-encodes every non-string field; text stays text
                out[key] = value if key == "text" else json.loads(value)
            except ValueError:
                out[key] = value
        return out

    def _get_updates(self) -> Response:
        if not self.updates:
            time.sleep(0.05)
        updates, self.updates = self.updates, []
        return self.ok(updates)

    def _refusal(self, chat_id: str) -> Response | None:
        if chat_id in self.migrated:
            return Response(
                400,
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: group chat was upgraded to a supergroup chat",
                    "parameters": {"migrate_to_chat_id": self.migrated[chat_id]},
                },
            )
        if chat_id in self.kicked:
            return bad_request("Forbidden: bot was kicked from the supergroup chat", 403)
        return self._throttled(chat_id)

    @property
    def rate_limited(self) -> int:
        """429s answered."""
        return self.chat_rate.refused if self.chat_rate else 0

    def _throttled(self, chat_id: str) -> Response | None:
        wait = self.chat_rate.check(chat_id) if self.chat_rate else None
        if wait is None:
            return None
        return Response(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {wait}",
                "parameters": {"retry_after": wait},
            },
        )

    def _send_message(self, args: dict[str, Any]) -> Response:
        chat_id = str(args["chat_id"])
        refused = self._refusal(chat_id)
        if refused is not None:
            return refused
        if not chat_id.startswith("-") and chat_id not in self.started:
            return bad_request("Forbidden: bot can't initiate conversation with a user", 403)
        keyboard = (args.get("reply_markup") or {}).get("inline_keyboard")
        if keyboard is not None and not _valid_keyboard(keyboard):
            return bad_request("Bad Request: BUTTON_DATA_INVALID")
        if self.break_after is not None and len(self.sent) >= self.break_after:
            self.break_after = None
            return bad_request("Internal Server Error: restart", 500)
        try:
            text, _entities = parse_html(str(args.get("text", "")))
        except EntityError as exc:
            return bad_request(f"Bad Request: can't parse entities: {exc}")
        if not text.strip():
            return bad_request("Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_UNITS:
            return bad_request("Bad Request: message is too long")
        reply = args.get("reply_parameters") or {}
        reply_to = reply.get("message_id")
        if reply_to and (chat_id, reply_to) not in self._known:
            if not reply.get("allow_sending_without_reply"):
                return bad_request("Bad Request: message to be replied not found")
            reply_to = None
        message_id = next(self._ids[chat_id])
        self._known.add((chat_id, message_id))
        thread_id = args.get("message_thread_id")
        self.sent.append(
            Sent(chat_id, message_id, str(args["text"]), text, reply_to, thread_id, keyboard)
        )
        return self.ok(
            {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {
                    "id": int(chat_id),
                    "type": "supergroup" if chat_id.startswith("-") else "private",
                },
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "digestbot"},
                "text": text,
                **({"message_thread_id": thread_id} if thread_id else {}),
            }
        )


_ADMIN_RIGHTS = (
    "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
    "can_manage_video_chats", "can_restrict_members", "can_promote_members", "can_change_info",
    "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories",
)  # fmt: skip


def _valid_keyboard(rows: list[list[dict[str, Any]]]) -> bool:
    """callback_data 1–64 bytes (Bot API); ≤ 100 buttons and ≤ 8 a row (observed limits)."""
    buttons = [b for row in rows for b in row]
    if len(buttons) > MAX_BUTTONS or any(len(row) > MAX_ROW for row in rows):
        return False
    return all(
        0 < len(str(b.get("callback_data", "")).encode()) <= MAX_CALLBACK_BYTES and b.get("text")
        for b in buttons
    )
