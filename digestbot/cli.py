"""The `digestbot` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import DigestbotError
from bot.i18n import LANGUAGES
from digestbot.failures import (
    EXIT_FAILURE,
    debugging,
    exit_status,
    log_unexpected,
    resource_line,
    state_dir,
    unexpected_line,
)
from digestbot.terminal import ANALYZER_MODES, warn

# The core (pydantic, SQLAlchemy, PyGithub…) costs ~1.5 s of CPU to import: each command imports
# what it uses when it runs, so `--help` and `--version` stay instant.
if TYPE_CHECKING:
    from bot.config import Settings

_REPO_HELP = (
    "OWNER/NAME (GitHub), a path (local git), or NAME=PATH to name a local repository "
    "; repeatable (default: the current directory)"
)
_CONFIG_HELP = "TOML file: settings and [[subscription]] tables (default: $DIGESTBOT_CONFIG)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand; every option's help names its default."""
    parser = argparse.ArgumentParser(prog="digestbot", description=__doc__)
    from importlib.metadata import version  # the installed distribution's, never a copy

    parser.add_argument("--version", action="version", version=f"%(prog)s {version('digestbot')}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_digest(sub.add_parser("digest", help="print the full report of a day's commits"))
    chat = sub.add_parser("chat", help="a console channel: /digest commands and follow-ups")
    chat.add_argument("--repo", action="append", help=_REPO_HELP)
    _add_reading(chat)
    _add_common(chat)
    _add_common(sub.add_parser("migrate", help="bring the database schema up to date"))
    _add_post(sub.add_parser("post", help="post one subscription's digest now (backfill, retry)"))
    for name, text in _ROLES:
        role = sub.add_parser(name, help=text)
        if name in ("web", "run"):
            role.add_argument(
                "--port",
                type=int,
                default=int(os.environ.get("PORT", "8000")),
                help="the port to listen on (default: $PORT, else 8000; now %(default)s)",
            )
        _add_common(role)
    return parser


_ROLES = (
    ("web", "serve Slack's HTTP endpoint, Telegram's webhook, health and report pages"),
    ("clock", "run the daily scheduler (plus Slack Socket Mode and Telegram polling)"),
    ("run", "web and clock in one process, for self-hosting"),
    ("worker", "run queued build and post jobs (needs DIGESTBOT_QUEUE=postgres)"),
)


def _add_digest(digest: argparse.ArgumentParser) -> None:
    """`digest`: which repositories and day, what to leave out, where to write."""
    digest.add_argument("--repo", action="append", help=_REPO_HELP)
    digest.add_argument(
        "--branch", help="branch to read (default: the checked-out or default branch)"
    )
    digest.add_argument(
        "--date",
        default="yesterday",
        help="today|yesterday|YYYY-MM-DD|last, last being the latest day with commits "
        "(default: %(default)s)",
    )
    _add_reading(digest)
    digest.add_argument(
        "--out", default="-", help="file to write, or - for stdout (default: %(default)s)"
    )
    _add_filters(digest)
    _add_common(digest)


def _add_filters(digest: argparse.ArgumentParser) -> None:
    """What `digest` leaves out: merges, authors, paths."""
    digest.add_argument(
        "--no-merges", action="store_true", help="leave out merge commits (default: kept)"
    )
    digest.add_argument(
        "--exclude-author",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave out authors matching a pattern, e.g. '*[bot]' (default: none)",
    )
    digest.add_argument(
        "--exclude-path",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out files matching a glob, e.g. 'docs/generated/*' (default: none)",
    )


def _add_post(post: argparse.ArgumentParser) -> None:
    """`post`: one subscription, one day."""
    post.add_argument("--subscription", required=True, help="the subscription's name (required)")
    post.add_argument(
        "--date",
        default="yesterday",
        help="the day to digest: yesterday|today|YYYY-MM-DD (default: %(default)s)",
    )
    _add_common(post)


def _add_reading(parser: argparse.ArgumentParser) -> None:
    """The zone, language and analyzer of `digest` and `chat`."""
    parser.add_argument(
        "--tz", default=None, help="IANA time zone of the day (default: this machine's zone)"
    )
    parser.add_argument(
        "--lang", default="en", choices=LANGUAGES, help="report language (default: %(default)s)"
    )
    parser.add_argument(
        "--analyzer",
        default="auto",
        choices=ANALYZER_MODES,
        help="auto: the model when OPENAI_API_KEY is set, else the offline rules "
        "(default: %(default)s)",
    )


def _add_common(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("DIGESTBOT_CONFIG")
    parser.add_argument(
        "--config", type=Path, default=Path(default) if default else None, help=_CONFIG_HELP
    )
    parser.add_argument(
        "--database",
        help="database URL (default: $DATABASE_URL, else sqlite:///digestbot.sqlite3)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an unexpected error, as DIGESTBOT_DEBUG=1 does (default: off)",
    )


def _settings(args: argparse.Namespace) -> Settings:
    from bot.config import FilterConfig, load_settings

    settings = load_settings(os.environ, args.config)
    if args.database:
        settings = settings.model_copy(update={"database_url": args.database})
    if args.command == "digest":
        base = settings.filters
        filters = FilterConfig(
            skip_merges=base.skip_merges or args.no_merges,
            exclude_authors=(*base.exclude_authors, *args.exclude_author),
            exclude_paths=(*base.exclude_paths, *args.exclude_path),
        )
        settings = settings.model_copy(update={"filters": filters})
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status. Every failure is one line on stderr."""
    # python-telegram-bot 22 deprecates int durations (RetryAfter.retry_after): use timedelta.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except DigestbotError as exc:
        warn(str(exc))
        return exit_status(exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug, or the machine: one line, the traceback to a file
        if debugging(args.debug):
            raise
        line = resource_line(exc) or unexpected_line(exc, log_unexpected(exc, args.command))
        warn(line)
        return EXIT_FAILURE


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from digestbot.logs import configure_logging

    settings = _settings(args)
    configure_logging(settings, os.environ, level=_log_level(args.command))
    if args.command == "migrate":
        from bot.storage.database import migrate

        migrate(settings.database_url)
        if settings.queue.enabled:
            from digestbot.queue import migrate_queue

            asyncio.run(migrate_queue(settings.database_url))
        return 0
    if args.command == "chat":
        return asyncio.run(_chat(args, settings))
    if args.command in ("post", "web", "clock", "run", "worker"):
        from digestbot.roles import run_role

        return asyncio.run(run_role(args, settings))
    from digestbot.digest_command import run_digest

    return asyncio.run(run_digest(args, settings))


def _log_level(command: str) -> int:
    # The long-running roles log every post and request; one-shot commands (`post` included:
    # it says what it did in its own lines) only problems.
    return logging.INFO if command in ("web", "clock", "run", "worker") else logging.WARNING


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.console import run_console
    from bot.days import local_zone_name, zone
    from digestbot.wiring import open_core

    tz = args.tz or local_zone_name()
    zone(tz)
    core = await open_core(settings, args.analyzer)
    try:
        if core.analyzer_note:
            warn(core.analyzer_note)
        conversation = await core.conversation(args.repo or ["."], tz, args.lang)
        await run_console(conversation, sys.stdin, sys.stdout, state_dir() / "history")
    finally:
        await core.close()
    return 0
