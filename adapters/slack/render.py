"""Neutral layout → Block Kit with mrkdwn, within every Slack limit; split, never truncate."""

from __future__ import annotations

import itertools
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.actions import Action
from bot.chat import (
    EntryMessage,
    OutgoingMessage,
    Part,
    RenderedPost,
    SummaryMessage,
    is_private,
    one_message_per_reply,
)
from bot.layout import Block, Line, Span, layout, plain_text, split_text
from bot.sanitize import clean, neutralize

SECTION_CHARS = 3000  # section text limit (invalid_blocks above it)
MAX_BLOCKS = 50
# Documented cap is 12,000; payloads near 13k were refused (bolt-js#2509), so stay well under.
MESSAGE_CHARS = 11_000
FALLBACK_CHARS = 300
# Our buttons' action_id is this prefix and the action's kind; the value is the commit's SHA.
ACTION_PREFIX = "digest_"

Payload = dict[str, Any]


# mrkdwn has no escape for its formatting characters. A date token with an invalid format shows
# its fallback text as it is (the technique of jsx-slack's <Escape>), so a character that could
# open or close bold, italic, strike or code is written as one. Inside a word (`snake_case`)
# Slack does not format, so those stay as they are.
_DELIMITER = re.compile(r"`|(?<![0-9A-Za-z])[*_~]|[*_~](?![0-9A-Za-z])")
_LITERAL = "<!date^00000000^{{_}}|{}>"
_LITERAL_GROWTH = len(_LITERAL.format(""))  # what writing one character as a token adds


def _entities(value: str) -> str:
    return neutralize(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(value: str) -> str:
    """Any text as inert mrkdwn: no formatting, quote, link or mention it could start.

    Controls are stripped, mentions defused, `& < >` written as entities.
    """
    text = _entities(value)
    if any(c in text for c in "*_~`"):
        text = _DELIMITER.sub(lambda m: _LITERAL.format(m.group(0)), text)
    # `&gt;` at the start of a line opens a quote in Slack; a soft hyphen (invisible) first: not.
    return "\u00ad" + text if text.startswith("&gt;") else text


def width(value: str) -> int:
    """An upper bound of `len(escape(value))`, summed per character (for splitting)."""
    grows = 4 * value.count("&") + 4 * (value.count("<") + value.count(">"))
    literal = sum(value.count(c) for c in "*_~`") * _LITERAL_GROWTH
    return len(value) + grows + literal + value.count("@")  # "@here" gains a zero-width space


def _linked(span: Span) -> bool:
    return bool(span.url and span.url.startswith(("https://", "http://")))


def _link(span: Span) -> str:
    url = clean(span.url or "").replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{url}|{_entities(span.text.replace('|', '¦'))}>"


def _bold(spans: Sequence[Span]) -> str:
    # One `*…*` around the whole run, links inside it: bold that closes right before a link
    # and opens right after it (`(*<url|#12>*)`) may not be read as bold by Slack.
    inner = "".join(_link(s) if _linked(s) else escape(s.text.replace("*", "∗")) for s in spans)
    return f"*{inner}*"


def _span(span: Span) -> str:
    if _linked(span):  # a link's text cannot carry code or italics in mrkdwn
        return _link(span)
    if span.style == "italic":
        return f"_{escape(span.text.replace('_', 'ˍ'))}_"
    if span.style == "code":  # Slack formats nothing inside code, and shows a date token raw
        return f"`{_entities(span.text.replace('`', 'ˋ'))}`"
    if span.style == "pre":  # a code block; a backtick in it would close it
        return f"```{_entities(span.text.replace('`', 'ˋ'))}```"
    return escape(span.text)


def mrkdwn(line: Line) -> str:
    """One line of spans as mrkdwn; adjacent bold spans (a title with links) share one bold."""
    out = []
    for bold, group in itertools.groupby(line, key=lambda s: s.style == "bold"):
        spans = list(group)
        out += [_bold(spans)] if bold else [_span(s) for s in spans]
    return "".join(out)


def _line_texts(line: Line) -> list[str]:
    rendered = mrkdwn(line)
    if len(rendered) <= SECTION_CHARS:
        return [rendered]
    # One line over a section: drop its styling and split it at words, escaped after splitting.
    return [escape(chunk) for chunk in split_text(plain_text(line), SECTION_CHARS, width)]


def sections(block: Block) -> list[Payload]:
    """A block's lines as section blocks of at most SECTION_CHARS each."""
    texts: list[str] = []
    current = ""
    for piece in (t for line in block.lines for t in _line_texts(line)):
        joined = f"{current}\n{piece}" if current else piece
        if len(joined) > SECTION_CHARS:
            texts.append(current)
            joined = piece
        current = joined
    if current:
        texts.append(current)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": t}} for t in texts]


def _button(action: Action) -> Payload:
    # Labels are ours and short (≤ 75 characters); the value is a SHA (≤ 2,000).
    return {
        "type": "button",
        "action_id": ACTION_PREFIX + action.kind,
        "text": {"type": "plain_text", "text": action.label, "emoji": True},
        "value": action.sha,
    }


def action_blocks(block: Block) -> list[Payload]:
    """A block's buttons as one actions block (action_ids are unique within it)."""
    if not block.actions:
        return []
    block_id = f"digest-{block.actions[0].sha[:12]}"  # unique in a message: one per commit
    return [
        {"type": "actions", "block_id": block_id, "elements": [_button(a) for a in block.actions]}
    ]


def _chars(block: Payload) -> int:
    return len((block.get("text") or {}).get("text", ""))


@dataclass
class _Message:
    blocks: list[Payload] = field(default_factory=list)
    chars: int = 0
    shas: list[str] = field(default_factory=list)
    fallback: str = ""

    def fits(self, more: list[Payload]) -> bool:
        extra = sum(_chars(b) for b in more)
        return len(self.blocks) + len(more) <= MAX_BLOCKS and self.chars + extra <= MESSAGE_CHARS

    def add(self, more: list[Payload], block: Block) -> None:
        self.blocks += more
        self.chars += sum(_chars(b) for b in more)
        self.shas += [s for s in block.shas if s not in self.shas]
        if not self.fallback:
            self.fallback = " ".join(plain_text(line) for line in block.lines)


def pack(blocks: Sequence[Block], private: bool = False) -> list[Part]:
    """Blocks into as few messages as the limits allow, in order."""
    messages = [_Message()]
    for block in blocks:
        rendered = sections(block) + action_blocks(block)  # the buttons follow their entry
        if not messages[-1].fits(rendered):  # keep a block whole when a fresh message can
            messages.append(_Message())
        for section in rendered:
            if not messages[-1].fits([section]):
                messages.append(_Message())
            messages[-1].add([section], block)
    return [
        Part(
            {
                "text": escape(textwrap.shorten(m.fallback, FALLBACK_CHARS, placeholder="…")),
                "blocks": m.blocks,
                "private": private,
            },
            tuple(m.shas),
        )
        for m in messages
        if m.blocks
    ]


class SlackRenderer:
    """Renders neutral messages for chat.postMessage."""

    def render(self, message: OutgoingMessage) -> list[Part]:
        """One neutral message as one or more Slack messages."""
        private = is_private(message)
        return pack(layout(message), private)

    def render_post(self, summary: SummaryMessage, replies: Sequence[EntryMessage]) -> RenderedPost:
        """The summary, then one message per reply (split only where a limit demands)."""
        return one_message_per_reply(self.render, summary, replies)
