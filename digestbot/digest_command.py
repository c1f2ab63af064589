"""`digestbot digest`: a day's report built with progress on a terminal, written, summed up."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from bot.days import DayWindow, local_zone_name, parse_day, zone
from bot.errors import OutputError, SourceError
from bot.fanout import in_order
from bot.models import RepoDigest, Report, Severity
from bot.report import render_report
from bot.subscriptions import split_repo_spec
from digestbot.terminal import ProgressLine, progress_line, warn
from digestbot.wiring import Core, open_core

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.ports import CommitSource


async def run_digest(args: argparse.Namespace, settings: Settings) -> int:
    """Build the report of `args.date` for `args.repo`, write it to `args.out`; the status."""
    tz = args.tz or local_zone_name()
    zone(tz)
    day = parse_day(args.date, tz)
    _check_out(args.out)  # before any work: a report that cannot be written is not built
    core = await open_core(settings, args.analyzer)
    try:
        if core.analyzer_note:
            warn(core.analyzer_note)
        specs = args.repo or ["."]
        # Several repositories are built at once and cannot share one line: each says when done.
        lines = [progress_line(_label(spec), final_only=len(specs) > 1) for spec in specs]
        sources = [core.source(s, args.branch, line) for s, line in zip(specs, lines, strict=True)]
        report = await _build_report(
            core, list(zip(sources, lines, strict=True)), day, tz, args.lang
        )
        for line in await empty_day_hints(sources, report, tz):
            warn(line)
    finally:
        await core.close()
    _write(render_report(report), args.out)
    warn(closing_line(report, core))
    return 0


async def _build_report(
    core: Core,
    watched: list[tuple[CommitSource, ProgressLine | None]],
    day: date | None,
    tz: str,
    language: str,
) -> Report:
    sources = [source for source, _ in watched]
    if day is None:
        heads = [t async for t in in_order([s.latest_commit_time for s in sources])]
        latest = [t for t in heads if t]
        if not latest:
            names = ", ".join([await s.repo_name() for s in sources])
            raise SourceError(f"{names} has no commits yet: there is no last day to digest")
        day = DayWindow.of(max(latest), tz).day
    window = DayWindow(day, tz)
    # A few repositories at once (bot.fanout); the report keeps the order they were given in.
    builds = [partial(_build_one, core, s, line, window, language) for s, line in watched]
    digests = [digest async for digest in in_order(builds)]
    return Report(day, language, tuple(digests))


async def _build_one(
    core: Core, source: CommitSource, line: ProgressLine | None, window: DayWindow, language: str
) -> RepoDigest:
    try:
        return await core.engine.build(source, window, language, line)
    finally:
        if line:
            line.close()


def _label(spec: str) -> str:
    # What the user typed: asking GitHub for the name could wait on a limit.
    name, _ = split_repo_spec(spec)
    return name or (Path.cwd().name if spec == "." else spec)


async def empty_day_hints(sources: list[CommitSource], report: Report, tz: str) -> list[str]:
    """For each repository without commits that day: when its last commit was, and what to run."""
    hints = []
    for source, digest in zip(sources, report.digests, strict=True):
        if digest.entries:
            continue
        day = digest.day.isoformat()
        latest = await source.latest_commit_time()
        if latest is None:
            hints.append(f"{digest.repo}: no commits on {day} ({tz}); it has no commits yet")
            continue
        last = DayWindow.of(latest, tz).day.isoformat()
        which = "last" if last < day else "latest"
        hints.append(
            f"{digest.repo}: no commits on {day} ({tz}); the {which} commit was on {last}: "
            f"digestbot digest --date {last} (or --date last)"
        )
    return hints


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
