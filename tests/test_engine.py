"""The engine end to end: the same day from local git and from GitHub gives the same digest."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.analyzers.rules import RulesAnalyzer
from bot.config import FilterConfig, RulesConfig
from bot.days import DayWindow
from bot.digest import CommitFilter, DigestEngine
from bot.models import Report, Severity
from bot.report import render_report
from bot.sources.github import GitHubSource
from bot.sources.local_git import LocalGitSource
from bot.storage.sql_store import SqlStore
from tests.emulators.github_api import GitHubEmulator
from tests.gitrepo import GitRepo
from tests.test_report import anchors_resolve

TZ = ZoneInfo("Europe/Berlin")
WINDOW = DayWindow(date(2026, 2, 19), "Europe/Berlin")


def at(hour: int, minute: int = 0, day: int = 19) -> datetime:
    return datetime(2026, 2, day, hour, minute, tzinfo=TZ)


def build_day(repo: GitRepo) -> None:
    repo.commit(
        "chore: seed",
        at(9, day=18),
        {"src/core/engine.py": "x = 1\n", "docs/guide.md": "# Guide\n"},
    )
    repo.commit(
        "feat(core): add engine cache (#10)",
        at(0, 1),
        {"src/core/engine.py": "x = 2\n" + "y = 3\n" * 60},
    )
    repo.commit("fix: handle empty input (#11)", at(8, 30), {"tests/test_engine.py": "ok\n"})
    repo.commit("docs: explain the cache (#12)", at(10), {"docs/guide.md": "# Guide\nMore\n"})
    repo.commit(
        "chore(deps): refresh lockfile (#13)",
        at(11),
        {"Cargo.lock": "".join(f"pkg{i}\n" for i in range(900))},
    )
    repo.commit("Rename the helper", at(12), move=(("docs/guide.md", "docs/manual.md"),))
    repo.commit("feat: add logo", at(13), {"assets/logo.png": b"\x89PNG\x00\x00\x01"})
    repo.commit("fix: last minute (#14)", at(23, 59), {"src/core/engine.py": "x = 4\n"})
    repo.commit("feat: tomorrow", at(0, 1, day=20), {"src/core/other.py": "z = 1\n"})
    repo.git("remote", "add", "origin", "https://github.com/acme/app.git")


def engine(store: SqlStore, filters: FilterConfig | None = None) -> DigestEngine:
    return DigestEngine(
        RulesAnalyzer(RulesConfig()),
        store,
        CommitFilter(filters or FilterConfig()),
    )


async def test_local_and_github_sources_give_the_same_digest(
    repo: GitRepo, store: SqlStore, github: GitHubEmulator
) -> None:
    build_day(repo)
    local = LocalGitSource(repo.path)
    everything = await local.commits(DayWindow(date(2026, 2, 18), "Europe/Berlin"))
    everything += await local.commits(WINDOW)
    everything += await local.commits(DayWindow(date(2026, 2, 20), "Europe/Berlin"))
    github.add_repo("acme/app", everything)
    remote = GitHubSource("acme/app", store, base_url=github.url)

    from_local = await engine(store).build(local, WINDOW, "en")
    from_github = await engine(store).build(remote, WINDOW, "en")

    assert from_local == from_github
    assert len(from_local.entries) == 7
    local_md = render_report(Report(WINDOW.day, "en", (from_local,)))
    assert local_md == render_report(Report(WINDOW.day, "en", (from_github,)))
    anchors_resolve(local_md)


async def test_groups_follow_the_rules_and_digest_is_stored(repo: GitRepo, store: SqlStore) -> None:
    build_day(repo)
    digest = await engine(store).build(LocalGitSource(repo.path), WINDOW, "zh")
    by_title = {e.commit.title: e.analysis.severity for e in digest.entries}
    assert by_title == {
        "feat(core): add engine cache (#10)": Severity.HIGH,  # 8 + >50 lines 1 + code 2
        "fix: last minute (#14)": Severity.HIGH,  # 7 + 61 lines 1 + code 2
        "fix: handle empty input (#11)": Severity.MEDIUM,  # 7 + tests 1
        "feat: add logo": Severity.MEDIUM,  # 8 + other 0
        "docs: explain the cache (#12)": Severity.LOW,
        "chore(deps): refresh lockfile (#13)": Severity.LOW,  # 1 + >500 lines 3 + config 1
        "Rename the helper": Severity.LOW,  # 3 + docs 0
    }
    assert [e.analysis.severity for e in digest.entries] == sorted(
        (e.analysis.severity for e in digest.entries), reverse=True
    )
    assert await store.get_digest("acme/app", WINDOW.day, "Europe/Berlin", "zh") == digest


async def test_filters_leave_out_merges_bots_and_paths(repo: GitRepo, store: SqlStore) -> None:
    repo.commit("chore: seed", at(8), {"a.py": "1\n"})
    repo.commit("chore: bump", at(9), {"b.py": "1\n"}, author="dependabot[bot]")
    repo.commit("docs: only generated", at(10), {"gen/api.md": "x\n"})
    repo.commit("fix: real", at(11), {"src/a.py": "1\n", "gen/api.md": "y\n"})
    filters = FilterConfig(exclude_authors=("*[bot]",), exclude_paths=("gen/*",))
    digest = await engine(store, filters).build(LocalGitSource(repo.path), WINDOW, "en")
    titles = {e.commit.title for e in digest.entries}
    assert titles == {"chore: seed", "fix: real"}
    fix = next(e for e in digest.entries if e.commit.title == "fix: real")
    kept = await store.get_commit(fix.commit.repo, fix.commit.sha)
    assert kept is not None and [f.path for f in kept.files] == ["src/a.py"]
