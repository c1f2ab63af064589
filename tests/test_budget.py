"""The diff budget: noise left out, code first and shared fairly, clipped inside hunks."""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path

from bot.budget import DiffBudget
from bot.models import FileChange, FileState, FileStatus
from bot.notes import coverage_note
from bot.tokens import estimate_tokens
from tests.factories import change, commit, patch_of

REFERENCE = Path(__file__).parent / "data" / "token_reference.json"


def test_noise_is_listed_with_its_reason_but_its_patch_left_out() -> None:
    c = commit(
        "chore: deps",
        change("src/app.py", 5),
        change("Cargo.lock", 800),
        change("web/app.min.js", 50),
        change("assets/logo.png", binary=True),
        change("vendor/lib/x.go", 20),
        change("tests/__snapshots__/a.snap", 30),
        change("data/points.csv", 40),
        change("tests/cassettes/test_api/test_get.yaml", 400),
        change(".github/workflows/triage.lock.yml", 300),
    )
    diff = DiffBudget(6000).apply(c)
    reasons = {f.path: f.reason for f in diff.coverage.files if f.state is FileState.OMITTED}
    assert reasons == {
        "Cargo.lock": "lockfile",
        "web/app.min.js": "generated",
        "assets/logo.png": "binary",
        "vendor/lib/x.go": "vendored",
        "tests/__snapshots__/a.snap": "snapshot",
        "data/points.csv": "data",
        "tests/cassettes/test_api/test_get.yaml": "cassette",
        ".github/workflows/triage.lock.yml": "generated",
    }
    assert "+line" in diff.text and "Cargo.lock (lockfile)" in diff.text
    assert diff.text.count("--- ") == 1  # only src/app.py's patch is shown


def test_code_comes_before_tests_config_and_docs() -> None:
    c = commit(
        "feat: x",
        change("README.md", 3),
        change("config/app.yaml", 3),
        change("tests/test_x.py", 3),
        change("src/x.py", 3),
    )
    text = DiffBudget(6000).apply(c).text
    order = [text.index(p) for p in ("src/x.py", "tests/test_x.py", "config/app.yaml", "README.md")]
    assert order == sorted(order)


def test_a_new_600_line_file_is_clipped_inside_its_one_hunk() -> None:
    c = commit("feat!: new api", change("src/api.py", 600, status=FileStatus.ADDED))
    diff = DiffBudget(1500).apply(c)
    [cover] = diff.coverage.files
    assert (cover.state, cover.reason) == (FileState.CLIPPED, "budget")
    body = diff.text.split("\n", 1)[1]
    shown = [ln for ln in body.splitlines() if ln.startswith("+line ")]
    assert len(shown) > 100  # hundreds of the new lines seen, not zero
    assert "more lines of this file left out: budget]" in diff.text
    # every kept line is whole: no line is cut in the middle
    assert all(ln == f"+line 0-{i}" for i, ln in enumerate(shown))
    assert estimate_tokens(diff.text) <= 1500


def test_a_late_small_code_file_is_not_starved_by_an_early_big_one() -> None:
    c = commit(
        "feat: two modules",
        change("src/a_big.py", 4000, hunks=40),
        change("src/z_new.py", 40, status=FileStatus.ADDED),
        change("tests/test_a.py", 30),
    )
    diff = DiffBudget(2000).apply(c)
    states = {f.path: f.state for f in diff.coverage.files}
    assert states["src/z_new.py"] is FileState.WHOLE
    assert states["src/a_big.py"] is FileState.CLIPPED
    assert diff.coverage.used_tokens <= 2000


def test_two_big_code_files_share_the_budget_evenly() -> None:
    other = replace(change("src/b.py", 3000), patch=patch_of(3000, prefix="other"))
    c = commit("refactor: x", change("src/a.py", 3000), other)
    diff = DiffBudget(1200).apply(c)
    parts = diff.text.split("--- src/b.py")
    a_tokens, b_tokens = estimate_tokens(parts[0]), estimate_tokens(parts[1])
    assert {f.state for f in diff.coverage.files} == {FileState.CLIPPED}
    assert 0.8 < a_tokens / b_tokens < 1.25


def test_patches_too_large_to_read_are_said_so_never_seen_whole() -> None:
    truncated = FileChange(
        "src/huge.py", FileStatus.MODIFIED, 9000, 0, "@@ -1,3 +1,3 @@\n+a\n+b", patch_truncated=True
    )
    left_out = FileChange("src/gen.py", FileStatus.MODIFIED, 20000, 5, None)
    flagged = FileChange("src/big.py", FileStatus.MODIFIED, 30000, 0, None, patch_truncated=True)
    renamed = FileChange("src/moved.py", FileStatus.RENAMED, 0, 0, None, old_path="src/old.py")
    diff = DiffBudget(6000).apply(commit("feat: big", truncated, left_out, flagged, renamed))
    seen = {f.path: (f.state, f.reason) for f in diff.coverage.files}
    assert seen == {
        "src/huge.py": (FileState.CLIPPED, "too large"),
        "src/gen.py": (FileState.OMITTED, "too large"),
        "src/big.py": (FileState.OMITTED, "too large"),
        "src/moved.py": (FileState.WHOLE, "empty"),
    }
    assert not diff.coverage.complete
    assert "src/gen.py (too large)" in diff.text


def test_a_commit_of_many_files_lists_the_first_thirty_and_counts_the_rest() -> None:
    files = [change(f"locks/{i}/Cargo.lock", 50) for i in range(40)]
    diff = DiffBudget(6000).apply(commit("chore: locks", *files))
    assert diff.text.count("(lockfile)") == 30
    assert "- and 10 more: 10 lockfile" in diff.text
    assert diff.coverage.used_tokens <= 6000


def test_a_small_commit_is_seen_whole() -> None:
    diff = DiffBudget(6000).apply(commit("fix: x", change("src/x.py", 10)))
    assert diff.coverage.complete and diff.coverage.paths(FileState.WHOLE) == ("src/x.py",)


def test_token_estimate_tracks_real_tokenizers_on_diffs_and_chinese() -> None:
    # Exact cl100k_base and o200k_base counts, made by bench/token_estimate.py --write.
    rows = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert len(rows) >= 20
    for encoding in ("cl100k_base", "o200k_base"):
        ratios = [estimate_tokens(r["text"]) / r[encoding] for r in rows]
        # Close on the median, never far under (a budget must not be overrun by much).
        assert 0.95 <= statistics.median(ratios) <= 1.15, encoding
        assert min(ratios) >= 0.8, encoding
    assert estimate_tokens("") == 0
    assert estimate_tokens("变更摘要") == 4


def _file(patch: str) -> FileChange:
    return FileChange("src/cart.py", FileStatus.MODIFIED, 2, 1, patch)


def _deleted_module() -> FileChange:
    lines = [f"def helper_{i}():" if i % 4 == 0 else f"    value = {i}" for i in range(412)]
    patch = "@@ -1,412 +0,0 @@\n" + "\n".join(f"-{x}" for x in lines)
    return FileChange("src/legacy/importer.py", FileStatus.REMOVED, 0, 412, patch)


def test_an_analysis_prompt_gives_a_deleted_file_by_its_line_count_not_its_lines() -> None:
    c = commit("chore: remove the old importer", _deleted_module(), change("src/app.py", 4))
    diff = DiffBudget(6000).apply(c, compact=True)
    assert "--- src/legacy/importer.py [removed, +0 -412]" in diff.text
    assert "[file deleted: its 412 lines are not shown]" in diff.text
    assert "def helper_" not in diff.text
    [deleted] = [f for f in diff.coverage.files if f.path == "src/legacy/importer.py"]
    assert (deleted.state, deleted.reason) == (FileState.CLIPPED, "deleted")
    assert coverage_note(diff.coverage, "en") == (
        "ℹ️ The analysis saw part of the diff: 1 of 2 files clipped (1 deleted: line count only)."
    )
    # A follow-up question about the deleted code still gets its lines.
    assert "-def helper_0():" in DiffBudget(6000).apply(c).text


def test_a_patch_repeated_across_files_is_shown_once_and_each_file_counts_as_seen() -> None:
    same = [change(f"src/orders/model{i}.py", 120, hunks=2) for i in range(8)]
    c = commit("refactor: rename OrderLine to LineItem", *same)
    diff = DiffBudget(6000).apply(c)
    assert diff.text.count(same[0].patch or "") == 1
    assert diff.text.count("[the same patch as src/orders/model0.py]") == 7
    assert diff.coverage.complete
    assert diff.coverage.used_tokens < estimate_tokens("".join(f.patch or "" for f in same)) / 4


def test_a_repeat_of_a_clipped_patch_is_clipped_too() -> None:
    big = [change(f"src/gen{i}.py", 900) for i in range(2)]
    diff = DiffBudget(600).apply(commit("feat: two copies", *big))
    states = {f.path: (f.state, f.reason) for f in diff.coverage.files}
    assert states["src/gen1.py"] == states["src/gen0.py"] == (FileState.CLIPPED, "budget")


def test_analysis_hunks_keep_two_lines_before_and_one_after_a_change() -> None:
    context = [f" line {i}" for i in range(1, 11)]
    patch = "\n".join(
        ["@@ -1,20 +1,21 @@ def outer():", *context, "-old", "+new", "+more", *context]
    )
    seen = DiffBudget(6000).apply(commit("fix: one line", _file(patch)), compact=True).text
    assert "@@ -9,4 +9,5 @@ def outer():\n line 9\n line 10\n-old\n+new\n+more\n line 1" in seen
    assert " line 8" not in seen and " line 2" not in seen
