"""Encoding of domain values for storage: JSON through pydantic, a commit's files compressed."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import TypeVar

from pydantic import TypeAdapter

from bot.models import CommitAnalysis, CommitInfo, FileChange, Usage

INFO = TypeAdapter(CommitInfo)
FILES = TypeAdapter(tuple[FileChange, ...])
ANALYSIS = TypeAdapter(CommitAnalysis)
USAGE = TypeAdapter(Usage)
# Level 1: code diffs shrink about 3.4 x at ~70 MB/s on one core here; level 6 gains a
# further 20 % for 2.5 x the CPU (measured on real modules' diffs, docs/benchmarks.md).
ZLIB_LEVEL = 1
# Work on more text than this runs in a worker thread, so the event loop keeps answering.
OFF_LOOP_BYTES = 256 * 1024

T = TypeVar("T")


def encode_files(files: tuple[FileChange, ...]) -> bytes:
    """A commit's files with their patches, compressed (blocking)."""
    return zlib.compress(FILES.dump_json(files), ZLIB_LEVEL)


def decode_files(blob: bytes) -> tuple[FileChange, ...]:
    """The files back from `encode_files` (blocking)."""
    return FILES.validate_json(zlib.decompress(blob))


async def off_loop(size: int, work: Callable[[], T]) -> T:
    """Run `work` in a thread when it handles `size` bytes or more, inline when that is less."""
    if size >= OFF_LOOP_BYTES:
        return await asyncio.to_thread(work)
    return work()
