"""Digests keep no patch text; explain still reads the diff, from the commit store.

(Follow-ups reading it: tests/test_conversation.py, the console session with the model.)
"""

from __future__ import annotations

from datetime import date

from bot.models import Commit, CommitInfo
from tests.emulators.openai_api import OpenAIEmulator
from tests.factories import change, commit
from tests.gitrepo import GitRepo
from tests.test_conversation import day_repo, make_core, session

EXPLAIN = "explain a pull request or commit in depth"
DAY = date(2026, 3, 2)


def _user_prompts(emu: OpenAIEmulator, system_words: str) -> list[str]:
    return [
        str(c["messages"][1]["content"])
        for c in emu.calls()
        if system_words in str(c["messages"][0]["content"])
    ]


async def test_explain_of_a_stored_commit_reads_its_diff(database_url: str, repo: GitRepo) -> None:
    day_repo(repo)
    with OpenAIEmulator() as emu:
        env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": emu.base_url}
        core = await make_core(database_url, env)
        try:
            # the digest stores the day's commits; explain then finds #41 in the store
            await session(core, repo, ["/digest 2026-03-02", "/digest explain #41"])
            digest = await core.store.get_digest(repo.path.name, DAY, "Europe/Paris", "en")
        finally:
            await core.close()
        [explained] = _user_prompts(emu, EXPLAIN)
    assert digest is not None
    assert all(type(e.commit) is CommitInfo for e in digest.entries)
    assert "Diff:" in explained and "def page():" in explained


def test_an_entry_commit_is_the_patch_free_form() -> None:
    whole = commit("feat: x", change("src/a.py", 3))
    info = whole.info()
    assert isinstance(whole, CommitInfo) and not isinstance(info, Commit)
    assert (info.sha, info.title, info.url) == (whole.sha, whole.title, whole.url)
    assert not hasattr(info, "files")
    assert info.with_files(whole.files) == whole
