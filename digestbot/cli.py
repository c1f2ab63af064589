"""The `digestbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from functools import partial
from pathlib import Path

from bot.config import FilterConfig, Settings, load_settings
from bot.days import DayWindow, local_zone_name, parse_day, zone
from bot.errors import DigestbotError, OutputError, SourceError
from bot.fanout import in_order
from bot.i18n import LANGUAGES
from bot.models import Report, Severity
from bot.ports import CommitSource, Progress
from bot.report import render_report
from digestbot.failures import (
    EXIT_FAILURE,
    debugging,
    exit_status,
    log_unexpected,
    resource_line,
    unexpected_line,
)
from digestbot.logs import configure_logging
from digestbot.wiring import ANALYZER_MODES, Core, open_core, warn


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="digestbot", description=__doc__)
    from importlib.metadata import version  # the installed distribution's, never a copy

    parser.add_argument("--version", action="version", version=f"%(prog)s {version('digestbot')}")
    sub = parser.add_subparsers(dest="command", required=True)
    digest = sub.add_parser("digest", help="print the full report of a day's commits")
    digest.add_argument(
        "--repo",
        action="append",
        help="OWNER/NAME or a path (repeatable); default: the current directory's repository",
    )
    digest.add_argument("--branch", help="branch to read (default: checked-out / default)")
    digest.add_argument("--date", default="yesterday", help="today|yesterday|YYYY-MM-DD|last")
    digest.add_argument("--tz", default=None, help="IANA time zone (default: the local zone)")
    digest.add_argument("--lang", default="en", choices=LANGUAGES)
    digest.add_argument("--out", default="-", help="file to write, or - for stdout")
    digest.add_argument("--analyzer", default="auto", choices=ANALYZER_MODES)
    _add_common(digest)
    digest.add_argument("--no-merges", action="store_true", help="leave out merge commits")
    digest.add_argument(
        "--exclude-author",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave out authors matching a pattern, e.g. '*[bot]'",
    )
    digest.add_argument(
        "--exclude-path",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out files matching a glob",
    )
    chat = sub.add_parser("chat", help="a console channel: /digest commands and follow-ups")
    chat.add_argument("--repo", action="append", help="OWNER/NAME or a path (repeatable)")
    chat.add_argument("--tz", default=None, help="IANA time zone (default: the local zone)")
    chat.add_argument("--lang", default="en", choices=LANGUAGES)
    chat.add_argument("--analyzer", default="auto", choices=ANALYZER_MODES)
    _add_common(chat)
    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    _add_common(migrate)
    post = sub.add_parser("post", help="post one subscription's digest now (backfill, retry)")
    post.add_argument("--subscription", required=True, help="the subscription's name")
    post.add_argument("--date", default="yesterday", help="the day to digest: yesterday|YYYY-MM-DD")
    _add_common(post)
    for name, text in (
        ("web", "serve Slack's HTTP endpoint, Telegram's webhook, health and report pages"),
        ("clock", "run the daily scheduler (plus Slack Socket Mode and Telegram polling)"),
        ("run", "web and clock in one process, for self-hosting"),
    ):
        role = sub.add_parser(name, help=text)
        if name != "clock":
            role.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        _add_common(role)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("DIGESTBOT_CONFIG")
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(default) if default else None,
        help="TOML file: settings and [[subscription]] tables (default: $DIGESTBOT_CONFIG)",
    )
    parser.add_argument("--database", help="database URL (default: $DATABASE_URL or SQLite)")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an unexpected error (also DIGESTBOT_DEBUG=1)",
    )


def _settings(args: argparse.Namespace) -> Settings:
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
    settings = _settings(args)
    configure_logging(settings, os.environ, level=_log_level(args.command))
    if args.command == "migrate":
        from bot.storage.database import migrate

        migrate(settings.database_url)
        return 0
    if args.command == "chat":
        return asyncio.run(_chat(args, settings))
    if args.command in ("post", "web", "clock", "run"):
        from digestbot.roles import run_role

        return asyncio.run(run_role(args, settings))
    return asyncio.run(_digest(args, settings))


def _log_level(command: str) -> int:
    # The long-running roles log every post and request; one-shot commands only problems.
    return logging.INFO if command in ("post", "web", "clock", "run") else logging.WARNING


async def _digest(args: argparse.Namespace, settings: Settings) -> int:
    tz = args.tz or local_zone_name()
    zone(tz)
    day = parse_day(args.date, tz)
    _check_out(args.out)  # before any work: a report that cannot be written is not built
    core = await open_core(settings, args.analyzer)
    try:
        if core.analyzer_note:
            warn(core.analyzer_note)
        sources = [core.source(spec, args.branch) for spec in (args.repo or ["."])]
        report = await _build_report(core, sources, day, tz, args.lang)
    finally:
        await core.close()
    _write(render_report(report), args.out)
    warn(closing_line(report, core))
    return 0


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.console import run_console

    tz = args.tz or local_zone_name()
    zone(tz)
    core = await open_core(settings, args.analyzer)
    try:
        if core.analyzer_note:
            warn(core.analyzer_note)
        conversation = await core.conversation(args.repo or ["."], tz, args.lang)
        await run_console(conversation, sys.stdin, sys.stdout)
    finally:
        await core.close()
    return 0


async def _build_report(
    core: Core, sources: list[CommitSource], day: date | None, tz: str, language: str
) -> Report:
    if day is None:
        heads = [t async for t in in_order([s.latest_commit_time for s in sources])]
        latest = [t for t in heads if t]
        if not latest:
            names = ", ".join([await s.repo_name() for s in sources])
            raise SourceError(f"{names} has no commits yet: there is no last day to digest")
        day = DayWindow.of(max(latest), tz).day
    window = DayWindow(day, tz)
    bar = _Bar(await _label(sources)) if sys.stderr.isatty() else None
    # A few repositories at once (bot.fanout); the report keeps the order they were given in.
    builds = [
        partial(core.engine.build, source, window, language, bar.part(i) if bar else None)
        for i, source in enumerate(sources)
    ]
    try:
        digests = [digest async for digest in in_order(builds)]
    finally:
        if bar:
            bar.close()
    return Report(day, language, tuple(digests))


async def _label(sources: list[CommitSource]) -> str:
    if len(sources) == 1:
        return await sources[0].repo_name()
    return f"{len(sources)} repositories"


class _Bar:
    """One progress line on stderr (only drawn on a terminal) for every repository's commits."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._parts: dict[int, tuple[int, int]] = {}

    def part(self, index: int) -> Progress:
        """The progress callback of one repository."""

        def update(done: int, total: int) -> None:
            self._parts[index] = (done, total)
            self._draw()

        return update

    def _draw(self) -> None:
        done = sum(d for d, _ in self._parts.values())
        total = sum(t for _, t in self._parts.values())
        width = 24
        filled = width * done // max(total, 1)
        line = f"\r{self._label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        sys.stderr.write(line)
        sys.stderr.flush()

    def close(self) -> None:
        """End the line, if one was drawn."""
        if self._parts:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _check_out(out: str) -> None:
    """Refuse an --out that cannot be written, before the digest is built."""
    if out == "-":
        return
    target = Path(out)
    folder = target.parent
    if target.is_dir():
        raise OutputError(f"cannot write the report to {out}: it is a directory")
    if not folder.is_dir():
        raise OutputError(f"cannot write the report to {out}: {folder} does not exist")
    if not os.access(target if target.exists() else folder, os.W_OK):
        raise OutputError(f"cannot write the report to {out}: permission denied")


def _write(markdown: str, out: str) -> None:
    try:
        if out == "-":
            sys.stdout.write(markdown)
            sys.stdout.flush()
            return
        Path(out).write_text(markdown, encoding="utf-8")
    except OSError as exc:
        where = "stdout" if out == "-" else out
        raise OutputError(
            f"cannot write the report to {where}: {exc.strerror or exc}; the digest is stored, "
            "so running again prints it without new model calls"
        ) from None


def closing_line(report: Report, core: Core) -> str:
    """The last line: what was digested and what the model cost."""
    counts = {s: 0 for s in Severity}
    for digest in report.digests:
        for severity, n in digest.counts().items():
            counts[severity] += n
    total = sum(counts.values())
    usage = report.usage
    line = (
        f"{report.day.isoformat()}: {len(report.digests)} repositories, {total} commits "
        f"(high {counts[Severity.HIGH]}, medium {counts[Severity.MEDIUM]}, "
        f"low {counts[Severity.LOW]}); analyzer {core.engine.analyzer.identity.name}; "
        f"model calls {usage.calls}, tokens {usage.prompt_tokens} prompt + "
        f"{usage.completion_tokens} completion"
    )
    if usage.model_unreachable:
        fallen = sum(
            1 for d in report.digests for e in d.entries if e.analysis.fallback_reason is not None
        )
        line += f"; model unreachable: analyzed by the rules ({fallen} of {total} commits)"
    model = core.settings.model
    if model.prompt_price_per_million is not None and model.completion_price_per_million:
        cost = (
            usage.prompt_tokens * model.prompt_price_per_million
            + usage.completion_tokens * model.completion_price_per_million
        ) / 1e6
        line += f", cost ${cost:.4f}"
    return line
