"""The conversation core: grammar, safe output, explain, follow-ups and a console session."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.console import CONSOLE, ConsolePoster, run_console
from bot.chat import CommandEvent, ThreadReplyEvent
from bot.commands import (
    DigestCommand,
    ExplainCommand,
    HelpCommand,
    parse_command,
)
from bot.config import load_settings
from bot.conversation import choose_entries
from bot.errors import CommandError
from bot.sanitize import safe_text
from digestbot.wiring import Core, open_core
from tests.emulators.openai_api import OpenAIEmulator
from tests.gitrepo import GitRepo

TZ = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", DigestCommand()),
        ("/digest", DigestCommand()),
        ("today", DigestCommand(day="today")),
        ("yesterday acme/app", DigestCommand(day="yesterday", repo="acme/app")),
        ("acme/app 2026-02-19", DigestCommand(day="2026-02-19", repo="acme/app")),
        ("last", DigestCommand()),
        ("explain #6356", ExplainCommand(pr_number=6356)),
        ("explain 6356", ExplainCommand(pr_number=6356)),
        ("/digest explain 61889A1", ExplainCommand(sha="61889a1")),
        ("/explain #12", ExplainCommand(pr_number=12)),
        ("help", HelpCommand()),
        ("2026-02-19 tools", DigestCommand(day="2026-02-19", repo="tools")),  # a configured name
    ],
)
def test_grammar_accepts(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-02-30", "cannot read the date '2026-02-30'"),
        ("9999-12-31", "the date 9999-12-31 is out of range"),
        ("today yesterday", "I don't understand 'yesterday'"),
        ("explain", "explain takes one pull request number or commit SHA"),
        ("explain #abc", "neither a pull request number"),
        ("explain 12 13", "explain takes one"),
        ("acme/app other/repo", "I don't understand 'other/repo'"),
    ],
)
def test_grammar_rejects_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_command(text)


def test_hostile_text_is_defused() -> None:
    hostile = "/kick everyone <!channel> <!here|here> @everyone <@U123> ping\x07 \u202eevil"
    out = safe_text(hostile)
    assert not out.startswith("/")
    for mass in ("<!channel>", "<!here", "@everyone", "<@U123>"):
        assert mass not in out
    assert "\x07" not in out and "\u202e" not in out
    assert "channel" in out and "everyone" in out  # the words stay readable
    long = " ".join(f"word{i}" for i in range(3000))
    assert safe_text(long) == long  # never shortened: the chat renderers split long text


async def make_core(database_url: str, env: dict[str, str]) -> Core:
    settings = load_settings({"DATABASE_URL": database_url, **env})
    return await open_core(settings, "auto")


def day_repo(repo: GitRepo) -> None:
    repo.commit(
        "feat(api): add paging (#41)",
        datetime(2026, 3, 2, 9, tzinfo=TZ),
        {"src/api/pages.py": "def page():\n    return 1\n" * 30},
    )
    repo.commit(
        "fix: <!channel> /remind everyone (#42)",
        datetime(2026, 3, 2, 10, tzinfo=TZ),
        {"src/core/fix.py": "x = 1\n"},
    )
    repo.commit("docs: typo", datetime(2026, 3, 2, 11, tzinfo=TZ), {"docs/a.md": "a\n"})


async def session(core: Core, repo: GitRepo, lines: list[str]) -> str:
    conversation = await core.conversation([str(repo.path)], "Europe/Paris", "en")
    out = io.StringIO()
    await run_console(conversation, io.StringIO("\n".join(lines) + "\n"), out)
    return out.getvalue()


async def test_console_session_end_to_end_with_the_model(
    database_url: str, repo: GitRepo, tmp_path: Path
) -> None:
    day_repo(repo)
    with OpenAIEmulator() as emu:
        core = await make_core(
            database_url, {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": emu.base_url}
        )
        try:
            text = await session(
                core,
                repo,
                [
                    "/digest last",
                    ">2 why is this risky?",
                    ">2 and the tests?",
                    "/digest explain #42",
                ],
            )
        finally:
            await core.close()
        followups = [c for c in emu.calls() if "teammate's question" in c["messages"][0]["content"]]
    assert "[1] repo — 2026-03-02" in text
    assert "Commits on 2026-03-02: 3" in text
    assert "    [2] " in text and "    [3] " in text  # thread replies, indented
    second = next(line for line in text.splitlines() if line.startswith("    [2]"))
    high_sha = re.findall(r"\b[0-9a-f]{7}\b", second)[-1]
    assert f"Answer about {high_sha}: see the diff." in text
    assert "<!channel>" not in text
    fix_sha = repo.git("rev-parse", "HEAD~1")[:7]
    assert f"Answer about {fix_sha}: see the diff." in text.split("explain", 1)[-1]
    assert len(followups) == 2
    second = followups[1]["messages"][1]["content"]
    assert "why is this risky?" in second  # the earlier turn is in the context
    assert "Diff:" in second and "def page" in second


async def test_follow_up_without_a_model_resolves_after_a_restart(
    database_url: str, repo: GitRepo
) -> None:
    day_repo(repo)
    core = await make_core(database_url, {})
    conversation = await core.conversation([str(repo.path)], "Europe/Paris", "en")
    first = ConsolePoster(io.StringIO())
    await conversation.on_command(CommandEvent(CONSOLE, "you", "/digest 2026-03-02"), first)
    await core.close()

    core = await make_core(database_url, {})  # a restart: new process, same database
    try:
        conversation = await core.conversation([str(repo.path)], "Europe/Paris", "en")
        out = io.StringIO()
        later = ConsolePoster(out)
        handled = await conversation.on_thread_reply(
            ThreadReplyEvent(CONSOLE, "you", "what changed?", None, first.ref(2)), later
        )
    finally:
        await core.close()
    assert handled
    assert "No model is configured, so this is the stored analysis." in out.getvalue()
    assert "add paging" in out.getvalue()


async def test_explain_resolves_pr_and_sha_and_names_what_was_searched(
    database_url: str, repo: GitRepo
) -> None:
    day_repo(repo)
    core = await make_core(database_url, {})
    try:
        text = await session(
            core,
            repo,
            [
                "/digest explain #41",
                "/digest explain #999",
                f"/digest explain {repo.git('rev-parse', 'HEAD')[:9]}",
            ],
        )
    finally:
        await core.close()
    assert "add paging (#41)" in text
    assert "I found no commit for #999 in repo." in text
    assert "docs: typo" in text


async def test_unknown_repository_and_bad_date_reply_privately(
    database_url: str, repo: GitRepo
) -> None:
    day_repo(repo)
    core = await make_core(database_url, {})
    try:
        text = await session(
            core, repo, ["/digest today other/repo", "/digest 2026-02-31", ">9 hello?"]
        )
    finally:
        await core.close()
    assert "(only you) this channel does not follow other/repo; it follows: repo" in text
    assert "(only you) cannot read the date '2026-02-31'" in text
    assert "[9] is not one of my digest messages." in text


def test_follow_up_context_choice() -> None:
    from bot.analyzers.rules import RulesAnalyzer
    from bot.config import RulesConfig
    from bot.models import DigestEntry
    from tests.factories import change, commit

    rules = RulesAnalyzer(RulesConfig())
    commits = [
        commit("feat: cache warmup (#7)", change("src/a.py"), sha="a" * 40),
        commit("fix: retry logic in uploader (#8)", change("src/b.py"), sha="b" * 40),
        commit("docs: readme", change("README.md"), sha="c" * 40),
    ]
    entries = tuple(DigestEntry(c, rules.analyze_now(c, "en")) for c in commits)
    assert choose_entries(entries, ("b" * 40,), "why?") == (entries[1],)  # the one replied to
    assert choose_entries(entries, (), "what about #7?") == (entries[0],)
    assert choose_entries(entries, (), "is cccccccc safe?") == (entries[2],)
    assert choose_entries(entries, (), "does the uploader retry logic back off?") == (entries[1],)
    assert choose_entries(entries, (), "anything big today?") == ()  # → the overview
