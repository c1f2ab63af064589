"""The team grammar and the slot arithmetic, as pure functions: what a chat can say, and when."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.cadence import covered_days, latest_slot, next_slot
from bot.commands import (
    SettingsCommand,
    SubscribeCommand,
    SubscriptionsCommand,
    UnsubscribeCommand,
    help_text,
    parse_command,
    spec_of,
)
from bot.errors import CommandError
from bot.schedule_options import ScheduleOptions
from bot.subscribe import describe_schedule, team_word
from bot.subscriptions import Subscription
from bot.team import shown_repo


def on(*days: str) -> SubscribeCommand:
    return SubscribeCommand("acme/api", ScheduleOptions(days=days))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subscribe acme/api", SubscribeCommand("acme/api")),
        (
            "/digest subscribe acme/api weekly on fri at 9:05 tz Asia/Tokyo lang ZH",
            SubscribeCommand(
                "acme/api", ScheduleOptions("weekly", "09:05", "Asia/Tokyo", "zh", ("fri",))
            ),
        ),
        ("subscribe acme/api on fri-mon", on("mon", "fri", "sat", "sun")),
        ("subscribe acme/api on mon,wed", on("mon", "wed")),
        ("subscribe acme/api on weekdays", on("mon", "tue", "wed", "thu", "fri")),
        ("unsubscribe acme/api", UnsubscribeCommand("acme/api")),
        ("subscriptions", SubscriptionsCommand()),
        ("settings at 10:00", SettingsCommand(None, ScheduleOptions(time="10:00"))),
        ("settings acme/api daily", SettingsCommand("acme/api", ScheduleOptions("daily"))),
    ],
)
def test_the_team_grammar_accepts(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("subscribe", "subscribe needs a repository, e.g. /digest subscribe acme/api"),
        ("subscribe acme/api at 24:00", "the time must be HH:MM on a 24-hour clock"),
        ("subscribe acme/api tz Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("subscribe acme/api lang fr", "the language is zh or en, not 'fr'"),
        ("subscribe acme/api on fryday", "days are mon … sun, ranges (mon-fri)"),
        ("subscribe acme/api at", "'at' needs a value"),
        ("subscribe acme/api at 9:00 at 10:00", "time is given twice"),
        ("subscribe acme/api other/repo", "I don't understand 'other/repo'"),
        ("unsubscribe acme/api at 10:00", "unsubscribe takes only the repository"),
        ("settings", "settings needs something to change"),
        ("subscriptions acme/api", "subscriptions takes nothing more"),
    ],
)
def test_the_team_grammar_refuses_in_one_line(text: str, said: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_each_command_says_who_may_run_it() -> None:
    assert spec_of(SubscribeCommand("a/b")).who == "managers"
    assert spec_of(SettingsCommand(None, ScheduleOptions())).who == "managers"
    assert spec_of(UnsubscribeCommand("a/b")).who == "managers"
    assert spec_of(SubscriptionsCommand()).who == "anyone"
    help_lines = help_text().splitlines()
    assert any(line.startswith("/digest subscribe owner/repo") for line in help_lines)
    assert team_word("/digest  Subscribe acme/api") and not team_word("today acme/api")


def sub(**fields: object) -> Subscription:
    values: dict[str, object] = {"name": "s", "repos": ["a/b"], "slack_channel": "C", **fields}
    return Subscription.model_validate(values)


def test_slots_keep_the_local_time_across_daylight_saving() -> None:
    paris = sub(tz="Europe/Paris", time="09:00")
    before = datetime(2026, 3, 28, 12, tzinfo=UTC)  # Saturday; Paris moves to CEST on Sunday
    sunday = next_slot(paris, before)
    assert sunday == datetime(2026, 3, 29, 7, tzinfo=UTC)  # 09:00 CEST
    assert next_slot(paris, sunday) == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert latest_slot(paris, sunday, before) == sunday


def test_a_weekly_slot_covers_the_seven_days_before_it() -> None:
    weekly = sub(cadence="weekly", days=["mon"], tz="Asia/Tokyo")
    monday = next_slot(weekly, datetime(2026, 11, 26, tzinfo=UTC))
    assert monday.astimezone(ZoneInfo("Asia/Tokyo")).date() == date(2026, 11, 30)
    days = covered_days(weekly, date(2026, 11, 30))
    assert days[0] == date(2026, 11, 23) and days[-1] == date(2026, 11, 29) and len(days) == 7
    with pytest.raises(ValueError, match="a weekly digest posts on one day"):
        sub(cadence="weekly", days=["mon", "tue"])


def test_schedules_read_as_people_say_them() -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)  # a Thursday
    said = describe_schedule(sub(time="08:30", days=["mon", "tue"], tz="Europe/Berlin"), now)
    assert said == "daily at 08:30 Europe/Berlin on mon,tue, in en; next: Mon 2026-11-30 08:30"


def test_a_workspace_never_sees_a_server_path() -> None:
    assert shown_repo("github:acme/api") == "acme/api"
    assert shown_repo("/srv/git/tools") == "tools"
    assert shown_repo("tools=/srv/git/tools") == "tools"
    assert shown_repo("acme/api") == "acme/api"
