"""Hunks re-cut for analysis prompts: every change kept, line numbers still true."""

from __future__ import annotations

from bot.hunks import trim_context

PATCH = """@@ -10,15 +10,15 @@ class Cart:
 a
 b
 c
-d
+D
+D2
 e
 f
 g
 h
 i
 j
 k
-l
 m
 n
 o"""


def test_changes_far_apart_become_two_hunks_with_their_own_line_numbers() -> None:
    assert trim_context(PATCH, 2, 1) == "\n".join(
        [
            "@@ -11,4 +11,5 @@ class Cart:",
            " b",
            " c",
            "-d",
            "+D",
            "+D2",
            " e",
            "@@ -19,4 +20,3 @@",
            " j",
            " k",
            "-l",
            " m",
        ]
    )


def test_context_as_wide_as_the_patch_changes_nothing() -> None:
    assert trim_context(PATCH, 4, 3) == PATCH


def test_a_new_file_keeps_every_line_and_git_s_empty_side() -> None:
    new = "@@ -0,0 +1,3 @@\n+a\n+b\n+c"
    assert trim_context(new, 1, 1) == new


def test_no_newline_marker_stays_with_its_line_and_text_without_hunks_is_left_alone() -> None:
    marker = "\\ No newline at end of file"
    tail = f"@@ -5,3 +5,3 @@\n x\n y\n-z\n{marker}\n+z2\n{marker}"
    assert trim_context(tail, 1, 1) == tail.replace("-5,3 +5,3", "-6,2 +6,2").replace("\n x", "")
    assert trim_context("Binary files differ", 1, 1) == "Binary files differ"
