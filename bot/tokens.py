"""Offline token estimate, close to BPE tokenizers and never needing a download.

tiktoken fetches its encodings on first use, which fails on a machine without internet,
so the budget counts with this estimate: each CJK character, punctuation mark and newline is
a token, and a run of letters is one token per four characters, rounded up.
"""

from __future__ import annotations

import re

_PIECES = re.compile(
    r"[A-Za-z]+|\d{1,3}|[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|\n|[^\sA-Za-z\d]"
)


def estimate_tokens(text: str) -> int:
    """Estimated token count of a text."""
    total = 0
    for piece in _PIECES.findall(text):
        total += -(-len(piece) // 4) if piece[0].isascii() and piece[0].isalpha() else 1
    return total
