"""Every operator log line's text, in one place (bolt-python's `logger/messages.py` style).

Each function returns the words of one line; the ids that let someone follow a command or a
post travel beside it as `extra=` fields (LOG_FORMAT=json prints them as fields), and the
plain text names them too, so `grep` finds a post by its key, a chat or a commit.
"""

from __future__ import annotations

_TEXT_SHOWN = 80  # a command's text is the user's: enough to recognise it, never a wall


def _quoted(text: str) -> str:
    short = text if len(text) <= _TEXT_SHOWN else text[: _TEXT_SHOWN - 1] + "…"
    return repr(short)


def command_received(platform: str, chat: str, user: str, event_id: str, text: str) -> str:
    """A command arrived."""
    return f"command {event_id}: /digest {_quoted(text)} from {user} in {platform} {chat}"


def press_received(platform: str, chat: str, user: str, event_id: str, text: str) -> str:
    """A button was pressed."""
    return f"press {event_id}: {text} from {user} in {platform} {chat}"


def command_answered(
    platform: str, chat: str, event_id: str, *, command: str, seconds: float, outcome: str
) -> str:
    """A command (or a follow-up) was handled, and how long it took."""
    return f"command {event_id}: {command} in {platform} {chat} {outcome} in {seconds:.2f} s"


def post_claimed(key: str, state: str, known: int) -> str:
    """This process took a post: a new one, or one another process left half done."""
    if state == "resumed":
        return f"post {key}: resumed ({known} messages were already sent)"
    return f"post {key}: claimed"


def post_finished(key: str, outcome: str, sent: int, total: int, seconds: float) -> str:
    """How a post ended: posted, completed, already posted, busy elsewhere."""
    if outcome == "already":
        return f"post {key}: already posted, nothing sent"
    if outcome == "busy":
        return f"post {key}: another process is posting it, nothing sent"
    return f"post {key}: {outcome}, {sent} messages sent ({total} in all) in {seconds:.1f} s"


def post_failed(key: str, done: int, total: int, reason: str) -> str:
    """A post stopped part-way; its claim was let go, so a retry continues from `done`."""
    return f"post {key}: failed after {done} of {total} messages: {reason}"


def part_found(key: str, part: int | str) -> str:
    """A message whose send was never confirmed turned out to be posted: not sent again."""
    return f"post {key}: part {part} was posted after all, not sending it again"


def send_uncertain(key: str, marker: str, reason: str) -> str:
    """A send's answer was lost: the message is looked up before it is sent again."""
    return f"post {key}: {reason}; looking for part {marker} before sending it again"


def claim_trouble(key: str, action: str, error: Exception) -> str:
    """The database could not renew or release a claim (its lease runs out by itself)."""
    return f"post {key}: could not {action} the claim: {type(error).__name__}: {error}"


def message_sent(platform: str, chat: str, marker: str) -> str:
    """One message went out (DEBUG: a post's totals are the INFO line)."""
    part = f" part {marker}" if marker else ""
    return f"{platform} {chat}: message sent{part}"


def rate_limited(platform: str, chat: str, attempt: int, wait: float, slowdown: int) -> str:
    """A platform answered 429: the chat waits, then goes slower for a while."""
    return (
        f"{platform} {chat}: 429 on attempt {attempt}, waiting {wait:.1f} s, "
        f"then pacing {slowdown}x slower"
    )


def retrying(what: str, attempt: int, wait: float, reason: str) -> str:
    """Something failed and will be tried again."""
    return f"{what}: attempt {attempt} failed ({reason}), retry in {wait:.1f} s"


def day_complete(subscription: str, day: str, attempts: int) -> str:
    """A subscription's day completed after retries."""
    return f"daily {subscription} for {day} complete after {attempts} attempts"


def day_given_up(subscription: str, day: str, attempts: int, why: str, line: str) -> str:
    """The clock stopped retrying a day."""
    return f"daily {subscription} for {day} gave up after {attempts} attempts ({why}): {line}"


def unsubscribed(cadence: str, subscription: str, day: str) -> str:
    """A chat subscription was removed before its slot's post: nothing is posted."""
    return f"{cadence} {subscription} for {day}: unsubscribed, not posted"


def vote(sign: str, repo: str, short_sha: str, change: str) -> str:
    """A 👍 or 👎 on an analysis was counted (new), kept (same) or turned around (changed)."""
    return f"vote {sign} on {repo} {short_sha}: {change}"


def subscription_saved(name: str, repo: str, user: str) -> str:
    """A chat subscription was made or changed."""
    return f"chat subscription {name} ({repo}) saved by {user}"


def subscription_removed(name: str, repo: str, user: str) -> str:
    """A chat subscription was removed."""
    return f"chat subscription {name} ({repo}) removed by {user}"


def team_refused(user: str, reason: str) -> str:
    """Someone may not change what a chat gets."""
    return f"team command refused to {user}: {reason}"


def job_scheduled(cadence: str, name: str, what: str, when: str) -> str:
    """The clock added or moved a chat subscription's job."""
    return f"{cadence} {name} {what}: {when}"


def daily_failed(subscription: str, error: Exception) -> str:
    """A run failed outside a post (the database, a source): the clock tries again."""
    return f"daily {subscription} failed: {type(error).__name__}: {error}"


def daily_run(line: str) -> str:
    """What one run of a subscription did, repository by repository."""
    return line


def model_call(model: str, outcome: str, prompt_tokens: int, completion_tokens: int) -> str:
    """One model request's outcome and what it cost (DEBUG)."""
    return f"model {model}: {outcome}, {prompt_tokens} prompt + {completion_tokens} tokens"


def model_adapted(model: str, refused: str) -> str:
    """A 400 named a parameter or format the model does not take: switched for the run."""
    if refused == "json_schema":
        return f"model {model}: no json_schema support, using json_object"
    return f"model {model} refused {refused}: switched it, retrying"


def fallback(kind: str, reason: str, repo: str, sha: str) -> str:
    """The rules (or the stored analysis) stood in for the model."""
    where = f" of {repo} {sha}" if sha else f" of {repo}" if repo else ""
    return f"{kind}{where}: model failed ({reason}), using the offline rules' text instead"


def breaker_opened(model: str, reason: str) -> str:
    """The model kept failing to connect or answer: calls stop for a while."""
    return f"model {model}: {reason} repeatedly, calls stopped (breaker open)"


def platform_starting(platform: str) -> str:
    """A chat platform's start-up began (in the background)."""
    return f"{platform}: starting"


def platform_up(platform: str, attempts: int, recovered: bool) -> str:
    """A chat platform is up; after failures, it recovered by itself."""
    if not recovered:
        return f"{platform}: started"
    if attempts > 1:
        return f"{platform}: recovered, started after {attempts} attempts"
    return f"{platform}: recovered, connected again"


def platform_degraded(platform: str, reason: str, attempt: int, wait: float | None) -> str:
    """A chat platform cannot be used now; the others run on."""
    if wait is None:
        return f"{platform}: degraded: {reason}"
    return f"{platform}: degraded: {reason}; start attempt {attempt} failed, next in {wait:.0f} s"
