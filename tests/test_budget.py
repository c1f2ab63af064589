"""The diff budget: noise left out, code first, clipped at hunk boundaries, coverage recorded."""

from __future__ import annotations

from bot.budget import DiffBudget
from bot.models import FileState
from bot.tokens import estimate_tokens
from tests.factories import change, commit


def test_noise_is_listed_but_its_patch_left_out() -> None:
    c = commit(
        "chore: deps",
        change("src/app.py", 5),
        change("Cargo.lock", 800),
        change("web/app.min.js", 50),
        change("assets/logo.png", binary=True),
        change("vendor/lib/x.go", 20),
        change("tests/__snapshots__/a.snap", 30),
        change("data/points.csv", 40),
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


def test_a_large_patch_is_clipped_at_hunk_boundaries_within_budget() -> None:
    c = commit("feat: big", change("src/big.py", 5000, hunks=50), change("src/small.py", 5))
    diff = DiffBudget(2000).apply(c)
    states = {f.path: f.state for f in diff.coverage.files}
    assert states["src/big.py"] is FileState.CLIPPED
    assert diff.coverage.used_tokens <= 2000
    assert estimate_tokens(diff.text) <= 2000
    big_part = diff.text.split("--- src/big.py", 1)[1].split("--- ", 1)[0]
    body_lines = [ln for ln in big_part.splitlines()[1:] if ln and not ln.startswith("[")]
    # every kept line is a whole line of some hunk: a header or a full "+line h-i" line
    assert all(ln.startswith("@@") or ln.startswith("+line ") for ln in body_lines)
    assert body_lines[-1].startswith("+line") and not diff.coverage.complete


def test_files_that_do_not_fit_at_all_are_omitted_for_the_budget() -> None:
    c = commit("feat: big", change("src/a.py", 3000), change("src/b.py", 3000))
    diff = DiffBudget(300).apply(c)
    reasons = {f.path: (f.state, f.reason) for f in diff.coverage.files}
    assert reasons["src/a.py"] == (FileState.OMITTED, "budget")
    assert "src/a.py (budget)" in diff.text


def test_a_small_commit_is_seen_whole() -> None:
    diff = DiffBudget(6000).apply(commit("fix: x", change("src/x.py", 10)))
    assert diff.coverage.complete and diff.coverage.paths(FileState.WHOLE) == ("src/x.py",)


def test_token_estimate_counts_cjk_and_words() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("变更摘要") == 4
    assert estimate_tokens("hello world") == 4
    assert 900 < estimate_tokens("x = foo(bar)\n" * 150) < 1500
