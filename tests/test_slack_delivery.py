"""Slack delivery through the real slack_sdk: refusals, lost answers, 429s, look-ups by marker."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.pacing import Pacer
from adapters.slack.app import SlackPoster, slack_client
from bot.chat import ChatTarget
from bot.delivery import ClaimState, post_key
from bot.errors import DeliveryError
from bot.storage.sql_store import SqlStore
from tests.chat_fixtures import built_digest, later, publisher
from tests.emulators.loopback import Fault
from tests.emulators.slack_api import SlackEmulator

CHANNEL = "C0DIGEST"
TARGET = ChatTarget("slack", CHANNEL)


def poster(slack: SlackEmulator) -> SlackPoster:
    return SlackPoster(slack_client(slack.token, slack.api_url), Pacer([]))


async def test_a_refused_post_says_how_far_it_got_and_a_retry_resumes_at_once(
    store: SqlStore, slack: SlackEmulator
) -> None:
    digest = await built_digest(store)
    key = post_key("daily", TARGET, digest)
    slack.break_after = 4
    with pytest.raises(DeliveryError) as failed:
        await publisher(store, "failed").publish(TARGET, digest, poster(slack), key=key)
    assert len(slack.posted) == 4
    assert str(failed.value).startswith("posted 4 of ")
    assert str(failed.value).endswith(
        "messages to #C0DIGEST: Slack said fatal_error; run again to complete"
    )
    done = await publisher(store, "retry").publish(TARGET, digest, poster(slack), key=key)
    assert done.state is ClaimState.RESUMED and done.resumed_after == 4  # no lease to wait out
    again = await publisher(store, "third", later(20)).publish(
        TARGET, digest, poster(slack), key=key
    )
    assert again.state is ClaimState.DONE and again.sent == 0
    roots = [p for p in slack.posted if p.thread_ts is None]
    assert len(roots) == 1
    bodies = [p.all_text() for p in slack.thread(roots[0].ts)]
    assert len(bodies) == len(set(bodies)) == done.sent + 3


async def test_a_message_posted_but_never_acknowledged_is_found_not_sent_twice(
    store: SqlStore, slack: SlackEmulator
) -> None:
    digest = await built_digest(store)
    key = post_key("daily", TARGET, digest)
    slack.drop_after = 3  # Slack keeps the 4th message, but its answer is lost on the way
    done = await publisher(store, "cut-off").publish(TARGET, digest, poster(slack), key=key)
    assert done.state is ClaimState.NEW  # completed in the same run, no restart needed
    assert slack.calls("conversations.replies") == 1  # it looked before sending again
    root = next(p for p in slack.posted if p.thread_ts is None)
    bodies = [p.all_text() for p in slack.thread(root.ts)]
    assert len(bodies) == len(set(bodies)) == done.sent - 1


async def test_429_waits_for_retry_after_then_posts(slack: SlackEmulator) -> None:
    slack.fail(
        Fault(
            429,
            {"ok": False, "error": "ratelimited"},
            {"Retry-After": "1"},
            path_contains="chat.postMessage",
        )
    )
    from bot.chat import TextMessage, send

    started = time.monotonic()
    refs = await send(poster(slack), TARGET, TextMessage("hello"))
    assert time.monotonic() - started >= 1.0  # it waited as told, it did not give up
    assert slack.calls("chat.postMessage") == 2 and refs[0].message_id == slack.posted[0].ts


async def test_a_summary_lost_in_a_busy_channel_is_found_by_paging_from_its_send_time(
    store: SqlStore, slack: SlackEmulator
) -> None:
    from bot.delivery import Publisher
    from bot.storage.chat_store import SqlChatStore
    from bot.storage.delivery_store import SqlDeliveryLog
    from tests.simulated import KillableLog

    slack.chatter(CHANNEL, 300)  # the channel's older history
    slack.page_cap = 15  # as Slack limits conversations.history for some apps
    digest = await built_digest(store, 6)
    key = post_key("daily", TARGET, digest)
    dying = KillableLog(SqlDeliveryLog(store.engine), kill_at=1)  # summary sent, never recorded
    dead = Publisher(dying, SqlChatStore(store.engine), owner="killed")
    task = asyncio.create_task(dead.publish(TARGET, digest, poster(slack), key=key))
    await dying.killed.wait()
    slack.chatter(CHANNEL, 100)  # the channel keeps talking while the bot is down
    done = await publisher(store, "restarted", later()).publish(
        TARGET, digest, poster(slack), key=key
    )
    task.cancel()
    assert done.state is ClaimState.RESUMED and done.root is not None
    roots = [p for p in slack.ours(CHANNEL) if p.thread_ts is None]
    assert [r.ts for r in roots] == [done.root.message_id]  # found, not posted a second time
    reads = [r for r in slack.requests if r.path.endswith("conversations.history")]
    assert all("oldest" in SlackEmulator.args_of(r) for r in reads)
    assert 100 // 15 < len(reads) <= 100 // 15 + 2  # paged through the new messages only


async def test_a_500_on_a_look_up_is_retried_but_a_500_on_a_post_is_looked_up(
    store: SqlStore, slack: SlackEmulator
) -> None:
    digest = await built_digest(store)
    key = post_key("daily", TARGET, digest)
    slack.fail(
        Fault(500, path_contains="chat.postMessage", skip=2, after=True),  # kept, then 500
        Fault(503, path_contains="conversations.replies"),  # the look-up's first try
    )
    done = await publisher(store).publish(TARGET, digest, poster(slack), key=key)
    root = next(p for p in slack.posted if p.thread_ts is None)
    bodies = [p.all_text() for p in slack.thread(root.ts)]
    assert len(bodies) == len(set(bodies)) == done.sent - 1  # the 3rd message once, not twice
    assert slack.calls("chat.postMessage") == done.sent  # the SDK never re-sent a post
    assert slack.calls("conversations.replies") == 2  # the read was retried by the SDK
