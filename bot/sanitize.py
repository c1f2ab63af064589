"""Text the bot writes anywhere: no control or bidi characters; in chat, no mentions or commands."""

from __future__ import annotations

import re

_MASS = re.compile(
    r"<!(channel|here|everyone)(\|[^>]*)?>|@(channel|here|everyone)\b", re.IGNORECASE
)
_USER_MENTION = re.compile(r"<[@#!][A-Z0-9^|]+[^>]*>")
# C0 controls but tab and newline (ESC, BEL, CR: terminal escape injection), DEL and C1 controls
# (a lone 0x9B is a CSI on some terminals), and every invisible format character (Unicode Cf):
# bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069: reversed-text spoofing),
# marks, word joiner, BOM, interlinear annotations, tag characters. The zero-width space stays:
# it reorders nothing, and it is how `neutralize` and `safe_text` defuse mentions and commands.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u180e\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f]"
)
# Zero-width (non-)joiners are kept where scripts need them (emoji sequences, Persian, Indic:
# between two non-ASCII characters) and dropped next to ASCII, where they only disguise a word.
_JOINER_BY_ASCII = re.compile(r"(?<![^\x00-\x7f])[\u200c\u200d]|[\u200c\u200d](?![^\x00-\x7f])")


def clean(text: str) -> str:
    """Text without control, bidi or invisible format characters: safe for any output."""
    if text.isprintable():  # no Cc or Cf character at all: the common case, and a cheap test
        return text
    return _JOINER_BY_ASCII.sub("", _INVISIBLE.sub("", text))


def neutralize(text: str) -> str:
    """Clean text with mass mentions and platform mention syntax defused, words kept readable."""
    text = clean(text)
    if "@" not in text and "<" not in text:  # no mention can be there: skip both searches
        return text
    text = _MASS.sub(lambda m: (m.group(1) or m.group(3)).lower().join(("@\u200b", "")), text)
    return _USER_MENTION.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)


def safe_text(text: str) -> str:
    """Chat-safe text: neutralized, and no leading slash (not a command). Never shortened."""
    text = neutralize(text).strip()
    if text.startswith("/"):
        text = "\u200b" + text
    return text
