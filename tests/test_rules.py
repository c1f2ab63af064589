"""The rules analyzer scores as the reference README says, explains itself, and is bilingual."""

from __future__ import annotations

import pytest

from bot.analyzers.rules import RulesAnalyzer, change_type, message_body, summarize
from bot.config import RulesConfig
from bot.models import FileChange, Severity
from tests.factories import change, commit

RULES = RulesAnalyzer(RulesConfig())


@pytest.mark.parametrize(
    ("title", "files", "expected"),
    [
        # feat 8 + core code 2 = 10 → high, even for one small file (the noise the README notes)
        ("feat: add x", [change("src/app/x.py", 5)], Severity.HIGH),
        # fix 7 + >50 lines 1 + code 2 = 10 → high
        ("fix: y", [change("src/app/y.py", 60)], Severity.HIGH),
        # fix 7 + tests 1 = 8 → medium
        ("fix: flaky", [change("tests/test_y.py", 5)], Severity.MEDIUM),
        # docs 2 + >100 lines 2 + docs 0 + 3 files 1 = 5 → low
        (
            "docs: guide",
            [change("docs/a.md", 40), change("docs/b.md", 40), change("docs/c.md", 40)],
            Severity.LOW,
        ),
        # no prefix 3 + >500 lines 3 + code 2 + 6 files 2 = 10 → high
        ("Rewrite engine", [change(f"src/e/f{i}.py", 100) for i in range(6)], Severity.HIGH),
        # chore 1 + lockfile (config) 1 = 2 → low
        ("chore: bump deps", [change("Cargo.lock", 3000)], Severity.LOW),
        # ci 2 + config 1 + 3 files 1 = 4 → low
        (
            "ci: tweak",
            [
                change(".github/workflows/a.yml", 3),
                change(".github/b.yml", 3),
                change(".github/c.yml", 3),
            ],
            Severity.LOW,
        ),
        # refactor 5 + code 2 = 7 → medium
        ("refactor: tidy", [change("src/app/z.py", 20)], Severity.MEDIUM),
    ],
)
def test_severity_follows_the_reference_rules(
    title: str, files: list[FileChange], expected: Severity
) -> None:
    analysis = RULES.analyze_now(commit(title, *files), "en")
    assert analysis.severity is expected


def test_reason_names_the_weights_that_fired() -> None:
    analysis = RULES.analyze_now(commit("fix: y", change("src/app/y.py", 60)), "en")
    assert analysis.severity_reason == "fix +7 · lines 60 +1 · mostly code +2 = 10 (high ≥ 10)"
    zh = RULES.analyze_now(commit("fix: y", change("src/app/y.py", 60)), "zh")
    assert zh.severity_reason == "fix +7 · 改动 60 行 +1 · 以代码为主 +2 = 10（高 ≥ 10）"


def test_thresholds_and_weights_come_from_config() -> None:
    strict = RulesAnalyzer(RulesConfig(high=12, type_weights={"feat": 8}))
    analysis = strict.analyze_now(commit("feat: add x", change("src/app/x.py", 5)), "en")
    assert analysis.severity is Severity.MEDIUM


def test_change_type_from_files_when_the_title_has_no_prefix() -> None:
    assert change_type(commit("Update guide", change("docs/guide.md"))) == "docs"
    assert change_type(commit("More cases", change("tests/test_a.py"))) == "test"
    assert change_type(commit("Pipeline", change(".github/workflows/ci.yml"))) == "ci"
    assert change_type(commit("Stuff", change("src/a.py"), change("README.md"))) == "change"
    assert change_type(commit("perf(db): faster", change("src/a.py"))) == "perf"


def test_summary_drops_trailers_and_keeps_the_first_paragraph() -> None:
    c = commit(
        "feat(api): add paging (#12)",
        change("src/api/pages.py", 30),
        body="Adds cursor paging to list endpoints.\n\nDetails follow.\n\n"
        "Signed-off-by: Dev <dev@example.com>\nCo-authored-by: X <x@example.com>",
    )
    assert "Signed-off-by" not in message_body(c)
    summary = summarize(c, "en")
    assert summary.startswith("add paging (#12). Adds cursor paging to list endpoints.")
    assert "Details follow" not in summary and "Co-authored-by" not in summary
    assert "src/api/" in summary


def test_low_entries_carry_no_risks_high_ones_do() -> None:
    low = RULES.analyze_now(commit("docs: typo", change("docs/a.md", 1)), "en")
    assert low.severity is Severity.LOW and low.risks == () and low.recommendations == ()
    high = RULES.analyze_now(commit("feat!: drop v1 API", change("src/api/v1.py", 300)), "en")
    assert any("breaking" in r.lower() for r in high.risks)
    assert any("test" in r.lower() for r in high.risks)
    assert high.impact_scope == ("src/api/ (files: 1)",)


def test_analysis_is_deterministic() -> None:
    c = commit("feat: add x", change("src/app/x.py", 5), change("tests/test_x.py", 5))
    assert RULES.analyze_now(c, "zh") == RULES.analyze_now(c, "zh")


def test_summary_strips_pull_request_template_noise() -> None:
    body = (
        "## What?\n"
        "<!-- Describe the change. Link the issue. -->\n"
        "Adds cursor paging to list endpoints.\n"
        "\n"
        "## Why?\n"
        "Clients time out on big lists.\n"
        "\n"
        "## Checklist\n"
        "- [x] tests added\n"
        "- [ ] docs updated\n"
        "<!-- an unclosed template comment\n"
        "that runs on\n"
    )
    c = commit(
        "feat(api): add paging (#12)",
        change("src/api/pages.py", 30),
        body=body + "\nFixes #7, #8\nCloses acme/api#9\nSigned-off-by: Dev <dev@example.com>",
    )
    cleaned = message_body(c)
    for noise in ("##", "<!--", "[x]", "[ ]", "Fixes", "Closes", "Signed-off-by", "runs on"):
        assert noise not in cleaned
    assert cleaned == "Adds cursor paging to list endpoints.\n\nClients time out on big lists."
    assert summarize(c, "en").startswith("add paging (#12). Adds cursor paging to list endpoints.")
    prose = commit("fix: crash", change("src/a.py"), body="Fix the crash seen in #7 on login.")
    assert message_body(prose) == "Fix the crash seen in #7 on login."  # prose is not noise


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        # The body's first line only repeats the title (a squash merge): said once.
        (
            "feat(api): add paging (#12)",
            "* feat(api): add paging\n\nClients time out on big lists.",
            "add paging (#12). Clients time out on big lists.",
        ),
        # The body restates the title and goes on: the body alone.
        (
            "Add paging",
            "Add paging to the list endpoints, so clients stop timing out.",
            "Add paging to the list endpoints, so clients stop timing out.",
        ),
        # A body that says something else keeps the title first.
        ("Add paging", "Clients time out.", "Add paging. Clients time out."),
    ],
)
def test_summary_does_not_repeat_the_title(title: str, body: str, expected: str) -> None:
    summary = summarize(commit(title, change("src/api/pages.py", 30), body=body), "en")
    assert summary.startswith(expected + " Files: 1")


def test_a_dependency_bump_naming_a_cve_is_at_least_medium_and_says_why() -> None:
    # What Dependabot writes for a security update: a small lockfile bump by every other measure.
    bump = commit(
        "build(deps): bump jsonwebtoken from 8.5.1 to 9.0.0",
        change("package.json", 1, 1),
        change("package-lock.json", 12, 12),
        body=(
            "Bumps jsonwebtoken from 8.5.1 to 9.0.0.\n\n"
            "Fixes CVE-2022-23529: a crafted secret could lead to remote code execution.\n\n"
            "Signed-off-by: dependabot[bot] <support@github.com>"
        ),
    )
    rules = RulesAnalyzer(RulesConfig())
    analysis = rules.analyze_now(bump, "en")
    assert analysis.severity is Severity.MEDIUM
    assert analysis.severity_reason.endswith(
        "names a security issue (CVE-2022-23529) (medium: a security fix is at least medium)"
    )
    assert "安全" in rules.analyze_now(bump, "zh").severity_reason


def test_advisory_ids_and_vulnerability_fixes_raise_a_commit_plain_mentions_do_not() -> None:
    rules = RulesAnalyzer(RulesConfig())

    def rated(title: str, body: str = "") -> Severity:
        return rules.analyze_now(commit(title, change("uv.lock", 4, 4), body=body), "en").severity

    assert rated("chore(deps): bump urllib3", "Advisory GHSA-v845-jxx5-vc9f.") is Severity.MEDIUM
    assert rated("chore: update the h2 crate for RUSTSEC-2024-0332") is Severity.MEDIUM
    assert rated("fix(security): escape the redirect target") is not Severity.LOW
    assert rated("chore: patch a vulnerability in the image parser") is Severity.MEDIUM
    assert rated("docs: link the security policy") is Severity.LOW
    assert rated("chore(deps): refresh uv.lock") is Severity.LOW
