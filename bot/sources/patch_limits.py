"""How much patch text a source keeps per file and per commit, and how a kept patch is cut."""

from __future__ import annotations

from dataclasses import dataclass

# A model sees a few thousand tokens of a commit; follow-ups a little more. Far beyond that,
# patch text only costs memory and storage (a 100 MB generated file must not be held whole).
DEFAULT_FILE_PATCH_BYTES = 64 * 1024
DEFAULT_COMMIT_PATCH_BYTES = 1024 * 1024


@dataclass(frozen=True)
class PatchLimits:
    """Caps on the patch text kept: each file's, and a commit's in total (UTF-8 bytes)."""

    file_bytes: int = DEFAULT_FILE_PATCH_BYTES
    commit_bytes: int = DEFAULT_COMMIT_PATCH_BYTES


def cut_patch(patch: str, room: int) -> tuple[str | None, bool]:
    """The leading whole lines of a patch that fit in `room` bytes, and whether it was cut."""
    # Each line costs its bytes plus a newline, exactly as the git reader counts them, so both
    # sources cut a patch at the same line.
    size = len(patch.encode("utf-8", "replace")) + 1
    if size <= room:
        return patch, False
    kept: list[str] = []
    used = 0
    for line in patch.split("\n"):
        cost = len(line.encode("utf-8", "replace")) + 1
        if used + cost > room:
            break
        kept.append(line)
        used += cost
    text = "\n".join(kept).rstrip("\n")
    return (text or None), True
