"""The installed package, as a user or the container gets it: wheels built and installed by the
Dockerfile's own commands into a fresh venv, then run from outside the source tree.

The image cannot be built on these machines (docker client, no daemon), so the `image` fixture runs
the Dockerfile's build-stage COPY and `pip wheel` and its runtime `pip install` here, and the tests
run its ENTRYPOINT/CMD and HEALTHCHECK against that venv.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage.database import async_url, sync_url
from digestbot.cli import main
from tests.deploy_files import ROOT, Stage, dockerfile_stages, healthcheck
from tests.emulators.openai_api import OpenAIEmulator
from tests.gitrepo import GitRepo
from tests.test_roles import free_port

DEV_BIN = Path(sys.executable).parent
_HIDDEN = ("SLACK_", "TELEGRAM_", "OPENAI_", "GITHUB_", "DIGEST", "PYTHONPATH", "VIRTUAL_ENV")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without our settings or venv, plus `extra`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(_HIDDEN)}
    return {**kept, "PYTHONUNBUFFERED": "1", **extra}


@dataclass(frozen=True)
class Image:
    """A fresh venv made by the Dockerfile's commands: the image's contents, minus Debian."""

    venv: Path
    wheels: Path
    entry: tuple[str, ...]

    def run(
        self, *args: str, cwd: Path, program: str = "", **env: str
    ) -> subprocess.CompletedProcess[str]:
        """The image's ENTRYPOINT (or another program of the venv) with these arguments."""
        entry = [program] if program else list(self.entry)
        command = [str(self.venv / "bin" / entry[0]), *entry[1:], *args]
        environment = clean_env(**env)
        return subprocess.run(
            command, check=False, cwd=cwd, env=environment, capture_output=True, text=True
        )


def _copy_build_context(stage: Stage, into: Path) -> None:
    # The build stage's COPY instructions, with .dockerignore's caches left out.
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for copy in stage.all("COPY"):
        *sources, target = copy.value
        for source in sources:
            origin, dest = ROOT / source, into / target
            if origin.is_dir():
                shutil.copytree(origin, dest, dirs_exist_ok=True, ignore=skip)
            else:
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, dest / origin.name)


def _run_step(command: str, cwd: Path, wheels: Path, env: dict[str, str]) -> None:
    script = command.replace("/wheels", str(wheels))
    shell = ["bash", "-ec", script]
    done = subprocess.run(shell, check=False, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    build, runtime = dockerfile_stages()
    root = tmp_path_factory.mktemp("image")
    src, wheels, venv = root / "src", root / "wheels", root / "venv"
    _copy_build_context(build, src)
    path = f"{DEV_BIN}{os.pathsep}{os.environ['PATH']}"
    _run_step(build.run_with("pip wheel").value[0], src, wheels, clean_env(PATH=path))
    install = runtime.run_with("pip install").value[0]
    runtime_env = clean_env(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{path}")
    _run_step(install, root, wheels, runtime_env)
    entry = tuple(runtime.last("ENTRYPOINT").value)
    return Image(venv, wheels, entry)


@pytest.mark.slow
def test_the_wheel_ships_the_prompts_and_the_migrations(image: Image) -> None:
    (wheel,) = image.wheels.glob("digestbot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    prompts = {f"prompts/{p.name}" for p in (ROOT / "prompts").glob("*.toml")}
    versions = {
        f"bot/storage/migrations/versions/{p.name}"
        for p in ROOT.glob("bot/storage/migrations/versions/0*.py")
    }
    assert prompts and prompts <= names and versions and versions <= names
    assert "bot/storage/migrations/script.py.mako" in names
    assert not any(name.startswith("tests/") for name in names)


@pytest.mark.slow
def test_the_installed_wheel_runs_a_model_digest_outside_the_source_tree(
    image: Image, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "repo")
    day = datetime(2026, 3, 4, 9, tzinfo=UTC)
    repo.commit("feat: ship the prompts", day, {"src/a.py": "x = 1\n"})
    database = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"  # migrated by the wheel's migrations
    args = ["--repo", str(repo.path), "--date", "2026-03-04", "--tz", "UTC", "--database", database]
    with OpenAIEmulator() as model:
        key = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": model.base_url}
        done = image.run("digest", *args, "--analyzer", "llm", cwd=tmp_path, **key)
        calls = len(model.calls())
    assert done.returncode == 0, done.stderr
    assert "Model summary of" in done.stdout and "analyzer llm" in done.stderr
    assert calls >= 2 and f"model calls {calls}" in done.stderr
    # What ran was the venv's copy, not the checkout's.
    where = image.run(
        "-c",
        "import bot, prompts; print(bot.__file__, prompts.__file__)",
        cwd=tmp_path,
        program="python",
    )
    assert all(Path(found).is_relative_to(image.venv) for found in where.stdout.split())
    version = image.run("--version", cwd=tmp_path)
    assert version.stdout == f"digestbot {_pyproject_version()}\n"


def _heroku_style(url: str) -> str:
    # Heroku hands out postgres://…; the bot must take it as it is.
    return "postgres://" + url.split("://", 1)[1] if url.startswith("postgresql") else url


def _wait_for_health(url: str, process: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 120  # a safety net for a wedged start, not a timing assertion
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                assert json.loads(answer.read())["ok"] is True
                return int(answer.status)
        except OSError:
            time.sleep(0.2)
    _, stderr = process.communicate(timeout=30) if process.poll() is not None else ("", "")
    pytest.fail(f"web never answered /healthz: {stderr}")


@pytest.fixture
def web(
    image: Image, tmp_path: Path, database_url: str
) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = free_port()
    env = clean_env(PORT=str(port), DATABASE_URL=_heroku_style(database_url))
    command = [str(image.venv / "bin" / image.entry[0]), *image.entry[1:], *_default_cmd()]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        yield port, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.communicate(timeout=30)


def _default_cmd() -> list[str]:
    return list(dockerfile_stages()[-1].last("CMD").value)


def _health_check(image: Image, port: int) -> int:
    program, *args = healthcheck()
    executable = image.venv / "bin" / program
    environment = clean_env(PORT=str(port))
    command = [str(executable), *args]
    return subprocess.run(command, check=False, env=environment, capture_output=True).returncode


@pytest.mark.slow
def test_the_image_command_serves_healthz_and_its_health_check_passes(
    image: Image, web: tuple[int, subprocess.Popen[str]]
) -> None:
    port, process = web
    assert _wait_for_health(f"http://127.0.0.1:{port}/healthz", process) == 200
    assert _health_check(image, port) == 0
    process.terminate()  # `docker stop`: SIGTERM, then a clean exit
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert _health_check(image, port) != 0  # nothing listens: the container turns unhealthy


def _pyproject_version() -> str:
    return str(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    )


def test_version_comes_from_the_installed_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"digestbot {importlib.metadata.version('digestbot')}\n"
    assert importlib.metadata.version("digestbot") == _pyproject_version()


_PROBE = (
    "import sys; from digestbot.cli import main; "
    "print(main({!r}), 'openai' in sys.modules, 'github' in sys.modules)"
)


@pytest.mark.parametrize("analyzer", ["rules", "auto"])  # auto: no OPENAI_API_KEY is set
def test_an_offline_local_digest_never_imports_openai_or_pygithub(
    repo: GitRepo, tmp_path: Path, analyzer: str
) -> None:
    repo.commit("fix: offline", datetime(2026, 3, 4, 9, tzinfo=UTC), {"a.py": "1\n"})
    report = tmp_path / "report.md"
    args = ["digest", "--repo", str(repo.path), "--date", "2026-03-04", "--tz", "UTC"]
    args += ["--analyzer", analyzer, "--out", str(report)]
    args += ["--database", f"sqlite:///{tmp_path / 'd.sqlite3'}"]
    probe = [sys.executable, "-c", _PROBE.format(args)]
    done = subprocess.run(probe, check=False, env=clean_env(), capture_output=True, text=True)
    assert done.stdout.split() == ["0", "False", "False"], done.stderr  # ~20 MiB each
    assert "fix: offline" in report.read_text(encoding="utf-8")


def test_heroku_postgres_urls_keep_working() -> None:
    url = "postgres://user:p%40ss@db.example.com:5432/d1"
    assert (
        async_url(url).render_as_string(hide_password=False)
        == "postgresql+psycopg://user:p%40ss@db.example.com:5432/d1"
    )
    assert sync_url(url).drivername == "postgresql+psycopg" and sync_url(url).password == "p@ss"
