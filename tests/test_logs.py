"""No token, key or password in any log line, error message or answer; plain or JSON lines."""

from __future__ import annotations

import io
import json
import logging
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from adapters.telegram.app import SECRET_HEADER
from adapters.web.links import LinkSigner, page_url
from bot.config import load_settings
from bot.models import RepoDigest
from bot.storage.database import create_engine
from digestbot.cli import main
from digestbot.logs import REDACTED, Redactor, configure_logging
from digestbot.service import health
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.telegram_api import TelegramEmulator
from tests.hostile import ALL_SECRETS, SECRETS, TOKEN_HALF, leaked, restored_logging
from tests.served import clean_env, served, wait_for

DB_PASSWORD = "hunter2-db-passw0rd"
PG_URL = f"postgresql://digest:{DB_PASSWORD}@127.0.0.1:1/digest"
EVERY_SECRET = (*ALL_SECRETS, DB_PASSWORD)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield from restored_logging()


def configured(log_format: str = "plain") -> io.StringIO:
    stream = io.StringIO()
    settings = load_settings({**SECRETS, "DATABASE_URL": PG_URL})
    configure_logging(settings, {"LOG_FORMAT": log_format}, stream=stream)
    return stream


def log_everything_secret() -> None:
    """What the libraries we use really log, each with a secret in it."""
    token = SECRETS["TELEGRAM_BOT_TOKEN"]
    bot_url = f"http://127.0.0.1:8081/bot{token}/getUpdates"
    logging.getLogger("httpx").info('HTTP Request: POST %s "HTTP/1.1 200 OK"', bot_url)
    logging.getLogger("telegram.ext.Updater").error("Error while polling %s", bot_url)
    try:
        raise RuntimeError(f"The token `{token}` was rejected by the server.")
    except RuntimeError:
        logging.getLogger("telegram.ext.Application").exception("initialize failed")
    logging.getLogger("x").warning("Invalid port: '%s'", TOKEN_HALF)  # base URL without /bot
    link = "/reports/2026-02-19/acme/app?tz=UTC&lang=en&exp=1999999999&sig=AbCdEfGhIjKlMnOpQrStUvWx"
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", link, "1.1", 200)
    for name, value in SECRETS.items():
        logging.getLogger("digestbot").info("%s is %s", name, value, extra={"value": value})
    logging.getLogger("sqlalchemy").error("could not connect to %s", PG_URL)
    logging.getLogger("slack_sdk.socket_mode").error(
        "Failed to connect: url='wss://wss.slack.com/link/?ticket=T1cket-s3cret&app_id=A1'"
    )


def test_no_configured_secret_reaches_any_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    stream = configured()
    log_everything_secret()
    written = stream.getvalue()
    assert leaked(written, EVERY_SECRET) == []
    assert leaked(caplog.text, EVERY_SECRET) == []  # third-party handlers see it redacted too
    assert "HTTP Request" not in written  # httpx is quiet below WARNING
    assert f"sig={REDACTED}" in written and "exp=1999999999" in written
    assert "T1cket-s3cret" not in written
    assert f"digest:{REDACTED}@127.0.0.1" in written
    assert "Traceback" in written and "rejected by the server" in written  # still useful


def test_json_lines_carry_time_level_logger_message_and_ids() -> None:
    stream = configured("json")
    log_everything_secret()
    logging.getLogger("digestbot").info("posted", extra={"subscription": "team", "key": "k1"})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    posted = next(line for line in lines if line["message"] == "posted")
    assert posted["subscription"] == "team" and posted["key"] == "k1"
    failed = next(line for line in lines if line["message"] == "initialize failed")
    assert "RuntimeError" in failed["exception"]
    assert leaked(stream.getvalue(), EVERY_SECRET) == []


def test_an_unknown_log_format_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LOG_FORMAT", "xml")
        assert main(["migrate", "--database", "sqlite:///:memory:"]) == 2
    assert capsys.readouterr().err == "digestbot: LOG_FORMAT is 'xml': use plain or json\n"


def test_credential_shapes_are_redacted_even_when_not_configured() -> None:
    redact = Redactor([])
    samples = [
        "POST https://api.telegram.org/bot123456789:AAEhBP0av28FkTYbDKoGxbLvtJQlKm7z6WJ/getMe",
        "Authorization: Bearer xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
        "app token xapp-1-A0123-456-abcdef0123456789",
        "key sk-proj-abcdefghijklmnop0123456789",
        "GITHUB ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "postgresql://user:pa55word@db.example/app",
    ]
    redacted = [redact(s) for s in samples]
    for secret in ("AAEhBP0av28", "pdFZKVeTuE8", "abcdef0123456789", "sk-proj", "ghp_", "pa55word"):
        assert not any(secret in r for r in redacted), secret


@pytest.mark.parametrize(
    "url",
    [PG_URL.replace("1/", "port/"), PG_URL.replace("://", "//"), "postgres://u:" + DB_PASSWORD],
)
def test_a_mistyped_database_url_is_never_echoed_with_its_password(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--database", url]) == 2
    error = capsys.readouterr().err
    assert "DATABASE_URL is not a database URL" in error and DB_PASSWORD not in error


async def test_healthz_shows_no_database_details(caplog: pytest.LogCaptureFixture) -> None:
    stream = configured()
    engine = create_engine(PG_URL)
    service = SimpleNamespace(core=SimpleNamespace(store=SimpleNamespace(engine=engine)))
    app = Starlette(routes=[Route("/healthz", health)])
    app.state.service = service
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://web") as web:
            answer = await web.get("/healthz")
    finally:
        await engine.dispose()
    assert answer.status_code == 503
    assert answer.json() == {"ok": False, "database": "unavailable"}  # no host, port or user
    assert "healthz: the database did not answer" in stream.getvalue()  # the reason is logged
    assert leaked(stream.getvalue() + caplog.text, [DB_PASSWORD]) == []


@pytest.mark.parametrize("api_url", ["https://api.telegram.org", "emulator"])
def test_a_wrong_telegram_api_url_or_token_is_one_line_without_the_token(
    api_url: str, database_url: str, tmp_path: Path
) -> None:
    # Without "/bot" the token's secret half becomes httpx's "Invalid port"; an emulator that
    # does not know the token makes PTB raise InvalidToken, whose text holds the token. The web
    # process runs on: Telegram alone is degraded, with a reason and no token anywhere.
    with TelegramEmulator("1:other") as telegram:
        url = telegram.api_url if api_url == "emulator" else api_url
        env = clean_env(TELEGRAM_BOT_TOKEN=SECRETS["TELEGRAM_BOT_TOKEN"], TELEGRAM_API_URL=url)
        with served("web", env, database_url, tmp_path) as web:
            wait_for(lambda: "degraded" in _get(web.base + "/healthz"))
            health = _get(web.base + "/healthz")
        log = web.log()
    said = [line for line in log.splitlines() if "telegram: degraded: " in line]
    assert len(said) == 1 and "next in 1800 s" in said[0], log  # refused: not hammered
    assert "TELEGRAM_" in json.loads(health)["platforms"]["telegram"]["reason"]
    assert "Traceback" not in log
    assert leaked(log + health, ALL_SECRETS) == []


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return str(answer.read().decode())


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_a_real_process_logs_no_secret_while_polling_serving_and_refusing(
    log_format: str, tmp_path: Path, database_url: str
) -> None:
    token = SECRETS["TELEGRAM_BOT_TOKEN"]
    with SlackEmulator(SECRETS["SLACK_BOT_TOKEN"]) as slack, TelegramEmulator(token) as telegram:
        env = clean_env(
            **SECRETS,
            LOG_FORMAT=log_format,
            SLACK_API_URL=slack.api_url,
            TELEGRAM_API_URL=telegram.api_url,
            DIGEST_PUBLIC_URL="http://127.0.0.1",
        )
        with served("run", env, database_url, tmp_path) as running:
            # Polling: PTB's getUpdates URL holds the token, and httpx logs every request.
            wait_for(lambda: sum("getUpdates" in r.path for r in telegram.requests) >= 3)
            signer = LinkSigner(SECRETS["DIGEST_LINK_SECRET"].encode())
            link = page_url(signer, RepoDigest("acme/app", date(2026, 2, 19), "UTC", "en", ()))
            signature = link.split("sig=")[1]
            hook = {SECRET_HEADER: SECRETS["TELEGRAM_WEBHOOK_SECRET"]}
            statuses = [
                _request(running.base + link),
                _request(running.base + "/slack/events", b"{"),
                _request(running.base + "/telegram/webhook", b"[]", hook),
            ]
            running.process.send_signal(signal.SIGTERM)
            running.process.wait(30)
            log = running.log()
    assert statuses == [404, 401, 400]  # no such digest; unsigned; not an update
    assert leaked(log, [*ALL_SECRETS, signature]) == [], log[-2000:]
    assert "/reports/2026-02-19/acme/app" in log and f"sig={REDACTED}" in log  # access log
    assert "HTTP Request" not in log
    if log_format == "json":
        lines = [line for line in log.splitlines() if not line.startswith("digestbot: ")]
        assert lines and all(json.loads(line)["level"] for line in lines)


def _request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_an_uncaught_error_is_printed_redacted() -> None:
    script = (
        "import os, sys\n"
        "from bot.config import load_settings\n"
        "from digestbot.logs import configure_logging\n"
        "configure_logging(load_settings(os.environ), {})\n"
        "raise RuntimeError('token ' + os.environ['TELEGRAM_BOT_TOKEN'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=clean_env(TELEGRAM_BOT_TOKEN=SECRETS["TELEGRAM_BOT_TOKEN"]),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "RuntimeError: token [redacted]" in done.stderr
    assert leaked(done.stderr, ALL_SECRETS) == []
