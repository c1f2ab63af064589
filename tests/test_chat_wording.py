"""What a chat says around a digest: empty days, work in progress, its language, repo names."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.console import run_console
from bot.config import load_settings
from bot.errors import ConfigError
from bot.subscriptions import load_subscriptions, split_repo_spec
from digestbot.service import channel_setups
from digestbot.wiring import Core, open_core
from tests.gitrepo import GitRepo

TZ = ZoneInfo("Europe/Paris")


@pytest.fixture
async def core(database_url: str) -> AsyncIterator[Core]:
    opened = await open_core(load_settings({"DATABASE_URL": database_url}), "auto")
    yield opened
    await opened.close()


def two_days(repo: GitRepo) -> None:
    repo.commit("feat(api): add paging (#41)", datetime(2026, 3, 2, 9, tzinfo=TZ), {"a.py": "1\n"})
    repo.commit("docs: typo", datetime(2026, 3, 3, 11, tzinfo=TZ), {"docs/a.md": "a\n"})


async def chat(core: Core, specs: list[str], lines: list[str], language: str = "en") -> str:
    conversation = await core.conversation(specs, "Europe/Paris", language)
    out = io.StringIO()
    await run_console(conversation, io.StringIO("\n".join(lines) + "\n"), out)
    return out.getvalue()


async def test_an_empty_day_is_told_to_the_asker_only_with_where_to_look(
    core: Core, repo: GitRepo
) -> None:
    two_days(repo)
    text = await chat(core, [str(repo.path)], ["/digest today", "/digest 2026-03-01"])
    lines = [line for line in text.splitlines() if line.startswith("[")]
    assert len(lines) == 2 and all("(only you)" in line for line in lines)  # nothing posted
    assert "No commits in repo on 2026-03-01 (Europe/Paris)." in lines[1]
    assert "Its latest commit was on 2026-03-03: /digest 2026-03-03 repo" in lines[1]
    assert "Commits on" not in text


async def test_a_build_says_it_is_working_and_a_recall_does_not(core: Core, repo: GitRepo) -> None:
    two_days(repo)
    text = await chat(
        core, [str(repo.path)], ["/digest 2026-03-02", "/digest 2026-03-02", "/digest explain #41"]
    )
    assert text.count("… Working on repo, 2026-03-02…") == 1  # the second is recalled
    before, after = text.split("… Working on repo, 2026-03-02…")
    assert "[1]" not in before and "[1] repo — 2026-03-02" in after
    assert "… Looking into #41…" in text
    assert text.count("Commits on 2026-03-02: 1") == 2


async def test_a_chinese_chat_gets_chinese_help_errors_and_empty_days(
    core: Core, repo: GitRepo
) -> None:
    two_days(repo)
    text = await chat(
        core,
        [str(repo.path)],
        ["/digest help", "/digest tomorrow", "/digest 2026-02-30", "/digest 2026-03-01"],
        "zh",
    )
    assert "某天的摘要（默认：最近有提交的一天）" in text  # the help
    assert "在摘要的讨论串中回复" in text
    assert "无法理解 “tomorrow”：请给出日期" in text and "用法：" in text
    assert "无法识别日期 “2026-02-30”" in text
    assert "repo 在 2026-03-01（Europe/Paris）没有提交。最近一次提交在 2026-03-03" in text
    assert "Usage" not in text and "the day's digest" not in text


async def test_a_named_local_repository_is_asked_for_and_shown_by_its_name(
    core: Core, repo: GitRepo
) -> None:
    two_days(repo)
    text = await chat(
        core,
        [f"tools={repo.path}"],
        ["/digest 2026-03-02 tools", "/digest 2026-03-02 repo", "/digest explain #41"],
    )
    assert "[1] tools — 2026-03-02" in text
    assert "I don't understand 'repo': give a day" in text and "follows: tools" in text
    assert "add paging (#41)" in text.split("Looking into #41")[1]  # found under its name


def test_a_subscription_names_a_local_repository_in_a_table(tmp_path: Path) -> None:
    config = tmp_path / "digestbot.toml"
    config.write_text(
        "[[subscription]]\n"
        'name = "backend"\n'
        'repos = ["acme/api", {path = "/srv/git/tools", name = "tools"}, "/srv/git/plain"]\n'
        'slack_channel = "C1"\n',
        encoding="utf-8",
    )
    (sub,) = load_subscriptions(config)
    assert sub.repos == ("acme/api", "tools=/srv/git/tools", "/srv/git/plain")
    assert split_repo_spec("tools=/srv/git/tools") == ("tools", "/srv/git/tools")
    assert split_repo_spec("/srv/a=b/repo") == (None, "/srv/a=b/repo")
    assert split_repo_spec("acme/api") == (None, "acme/api")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('{path = "/srv/git/tools", name = "today"}', "cannot be named 'today'"),
        ('{path = "/srv/git/tools", name = "a b"}', "name: String should match pattern"),
        ('{path = "/srv/git/tools"}', "name: Field required"),
        ('{path = "/x", name = "x", branch = "main"}', "branch: Extra inputs are not permitted"),
    ],
)
def test_a_bad_repository_name_names_the_file_and_line(
    tmp_path: Path, entry: str, message: str
) -> None:
    config = tmp_path / "digestbot.toml"
    config.write_text(
        f'[[subscription]]\nname = "a"\nslack_channel = "C1"\nrepos = [{entry}]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_subscriptions(config)
    assert f"{config}:4: subscription[0].repos" in str(caught.value)
    assert message in str(caught.value)


async def test_two_repositories_of_one_chat_cannot_share_a_name(
    core: Core, repo: GitRepo, tmp_path: Path
) -> None:
    other = GitRepo(tmp_path / "other")
    config = tmp_path / "digestbot.toml"
    config.write_text(
        f'[[subscription]]\nname = "a"\nslack_channel = "C1"\nrepos = ["tools={repo.path}"]\n'
        f'[[subscription]]\nname = "b"\nslack_channel = "C1"\nrepos = ["tools={other.path}"]\n'
        f'[[subscription]]\nname = "c"\nslack_channel = "C1"\nrepos = ["tools={repo.path}"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="'tools' names two repositories of slack C1"):
        await channel_setups(core, load_subscriptions(config))
