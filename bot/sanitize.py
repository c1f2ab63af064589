"""Text the bot writes into chat: no mass mentions, no leading slash, no control bytes, capped."""

from __future__ import annotations

import re

MAX_CHARS = 3500
_MASS = re.compile(
    r"<!(channel|here|everyone)(\|[^>]*)?>|@(channel|here|everyone)\b", re.IGNORECASE
)
_USER_MENTION = re.compile(r"<[@#!][A-Z0-9^|]+[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def neutralize(text: str) -> str:
    """Defuse mass mentions and platform mention syntax, keep the words readable."""
    text = _MASS.sub(lambda m: (m.group(1) or m.group(3)).lower().join(("@\u200b", "")), text)
    text = _USER_MENTION.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)
    return _CONTROL.sub("", text)


def safe_text(text: str, limit: int = MAX_CHARS) -> str:
    """Chat-safe text: neutralized, no leading slash (not a command), capped with a marker."""
    text = neutralize(text).strip()
    if text.startswith("/"):
        text = "\u200b" + text
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text
