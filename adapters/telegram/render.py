"""Neutral layout → Telegram HTML, every piece escaped; packed into messages of ≤ 4,096 units."""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.actions import Action, ActionKind
from bot.chat import EntryMessage, OutgoingMessage, Part, RenderedPost, SummaryMessage, is_private
from bot.layout import Block, Line, Span, layout, split_text
from bot.sanitize import neutralize

# sendMessage: 1–4096 characters after entity parsing, counted in UTF-16 code units.
MAX_UNITS = 4096
MAX_ENTITIES = 100  # undocumented per-message cap (telegram.constants.MessageLimit)
_TAGS = {"bold": "b", "italic": "i", "code": "code", "pre": "pre"}
# Inline keyboards: about 100 buttons and ~10 kB of markup at most (undocumented; Telegram says
# "reply markup is too long"). Twenty rows of four short buttons stay well inside both.
MAX_ROWS = 20
# callback_data is 1–64 bytes: "dg:<kind>:<16 hex of the SHA>" is 21.
CALLBACK_PREFIX = "dg"
KIND_CODES: dict[ActionKind, str] = {"explain": "e", "diff": "d", "up": "u", "down": "n"}
SHA_CHARS = 16


def utf16_len(value: str) -> int:
    """Length as Telegram counts it."""
    return len(value.encode("utf-16-le")) // 2


def escape(value: str) -> str:
    """Any text as inert Telegram HTML: no controls, mentions defused, `& < >` as entities."""
    return html.escape(neutralize(value), quote=False)


def width(value: str) -> int:
    """An upper bound of the UTF-16 length Telegram counts, summed per character (to split)."""
    return utf16_len(value) + value.count("@")  # a defused mention gains a zero-width space


def _linked(span: Span) -> bool:
    return bool(span.url and span.url.startswith(("https://", "http://")))


def _link(span: Span) -> str:
    return f'<a href="{html.escape(span.url or "")}">{escape(span.text)}</a>'


def _span(span: Span) -> str:
    if _linked(span):  # code may not hold a link (Bot API: code holds no other entity)
        return _link(span)
    tag = _TAGS.get(span.style)
    return f"<{tag}>{escape(span.text)}</{tag}>" if tag else escape(span.text)


def _html(line: Line) -> tuple[str, int]:
    """A line's HTML and its entity count.

    Adjacent bold spans (a title with links) share one <b>, which may hold links.
    """
    out, entities = [], 0
    for bold, group in itertools.groupby(line, key=lambda s: s.style == "bold"):
        spans = list(group)
        links = sum(1 for s in spans if _linked(s))
        if bold:
            inner = "".join(_link(s) if _linked(s) else escape(s.text) for s in spans)
            out.append(f"<b>{inner}</b>")
            entities += 1 + links
        else:
            out += [_span(s) for s in spans]
            entities += sum(1 for s in spans if _linked(s) or s.style in _TAGS)
    return "".join(out), entities


@dataclass(frozen=True)
class Piece:
    """Rendered HTML with its visible length and entity count."""

    html: str
    units: int
    entities: int


def _line(line: Line) -> Piece:
    markup, entities = _html(line)
    return Piece(markup, sum(utf16_len(neutralize(s.text)) for s in line), entities)


def pieces(block: Block, limit: int = MAX_UNITS) -> list[Piece]:
    """A block's lines; a line too long for one message loses its styling and is split."""
    out: list[Piece] = []
    for line in block.lines:
        piece = _line(line)
        if piece.units <= limit and piece.entities <= MAX_ENTITIES:
            out.append(piece)
            continue
        text = "".join(s.text for s in line)
        out += [_line((Span(chunk),)) for chunk in split_text(text, limit, width)]
    return out


def callback_data(action: Action) -> str:
    """What a button sends back when pressed."""
    return f"{CALLBACK_PREFIX}:{KIND_CODES[action.kind]}:{action.sha[:SHA_CHARS]}"


def keyboard(rows: Sequence[tuple[Action, ...]]) -> list[list[dict[str, str]]]:
    """One row of buttons per entry; with several, the first button names its commit."""
    several = len(rows) > 1
    return [
        [
            {
                "text": f"{a.short_sha} · {a.label}" if several and i == 0 else a.label,
                "callback_data": callback_data(a),
            }
            for i, a in enumerate(row)
        ]
        for row in rows
    ]


@dataclass
class _Message:
    lines: list[str] = field(default_factory=list)
    units: int = 0
    entities: int = 0
    shas: list[str] = field(default_factory=list)
    rows: list[tuple[Action, ...]] = field(default_factory=list)

    def room(self, more: Sequence[Piece], gap: int, rows: int = 0) -> bool:
        units = sum(p.units for p in more) + max(0, len(more) - 1) + (gap if self.lines else 0)
        entities = sum(p.entities for p in more)
        fits = self.units + units <= MAX_UNITS and self.entities + entities <= MAX_ENTITIES
        return fits and len(self.rows) + rows <= MAX_ROWS

    def add(self, more: Sequence[Piece], gap: str, shas: tuple[str, ...]) -> None:
        joined = "\n".join(p.html for p in more)
        units = sum(p.units for p in more) + len(more) - 1
        if self.lines:
            joined, units = gap + joined, units + len(gap)
        self.lines.append(joined)
        self.units += units
        self.entities += sum(p.entities for p in more)
        self.shas += [s for s in shas if s not in self.shas]


def pack(blocks: Sequence[Block], private: bool = False) -> list[Part]:
    """Blocks into as few messages as fit, blank lines between blocks; a block splits last."""
    messages = [_Message()]
    for block in blocks:
        _place(messages, block, pieces(block))
        if block.actions:  # the buttons go with the message holding the block's last line
            messages[-1].rows.append(block.actions)
    return [
        Part(
            {"html": "".join(m.lines), "private": private, "keyboard": keyboard(m.rows)},
            tuple(m.shas),
        )
        for m in messages
        if m.lines
    ]


def _place(messages: list[_Message], block: Block, rendered: list[Piece]) -> None:
    rows = 1 if block.actions else 0
    if messages[-1].room(rendered, 2, rows):
        messages[-1].add(rendered, "\n\n", block.shas)
        return
    if _Message().room(rendered, 0, rows):  # whole in a fresh message beats split across two
        messages.append(_Message())
        messages[-1].add(rendered, "", block.shas)
        return
    if not messages[-1].room([], 1, rows):
        messages.append(_Message())
    for piece in rendered:
        if not messages[-1].room([piece], 1):
            messages.append(_Message())
        messages[-1].add([piece], "\n", block.shas)


class TelegramRenderer:
    """HTML messages; a digest's replies are packed together, since a group takes ~20 a minute."""

    def render(self, message: OutgoingMessage) -> list[Part]:
        """One neutral message as one or more Telegram messages."""
        private = is_private(message)
        return pack(layout(message), private)

    def render_post(self, summary: SummaryMessage, replies: Sequence[EntryMessage]) -> RenderedPost:
        """The summary, then every reply's blocks packed into as few messages as fit."""
        blocks = [b for reply in replies for b in layout(reply)]
        return RenderedPost(tuple(self.render(summary)), tuple(pack(blocks)))
