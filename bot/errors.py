"""The one error hierarchy: every failure a user can meet, each message the line they read."""

from __future__ import annotations


class DigestbotError(Exception):
    """Base of every error we raise on purpose; `str(error)` says what happened and what to do."""


class ConfigError(DigestbotError, ValueError):
    """A configuration file or variable cannot be used; the message names the key."""


class DateSpecError(DigestbotError, ValueError):
    """A date or time zone the user gave cannot be understood."""


class CommandError(DigestbotError, ValueError):
    """Input the command grammar does not accept; the message says what was wrong."""


class PromptError(DigestbotError, ValueError):
    """A prompt file is missing, malformed, or rendered with the wrong values."""


class SourceError(DigestbotError, RuntimeError):
    """A source cannot deliver commits; the message is for the user."""


class RateLimitedError(SourceError):
    """GitHub's rate limit is spent and resets too far ahead to wait for."""


class ModelError(DigestbotError, RuntimeError):
    """The model could not answer after retries; the message says why, briefly."""


class StorageError(DigestbotError, RuntimeError):
    """The database cannot be used (unreachable, read-only, corrupt, full, newer schema)."""


class OutputError(DigestbotError, OSError):
    """A report or file cannot be written where the user asked (missing folder, disk full)."""


class LostClaim(DigestbotError, RuntimeError):
    """Another process took a post over (our lease ran out); stop sending."""


class ModelCallError(ModelError):
    """A model call failed; `code` is a stable reason (bot.i18n.FALLBACK_REASONS) for reports."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class ChatError(DigestbotError, RuntimeError):
    """A chat platform refused or failed a call; the message is its reason and the fix.

    `uncertain`: the request went out and its answer was lost (a 5xx, a time-out, a dropped
    connection), so the message may have been posted. `retry_helps`: trying again later can
    succeed without anyone changing the configuration (False for a moved chat).
    """

    def __init__(
        self, reason: str, *, code: str = "", uncertain: bool = False, retry_helps: bool = True
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.uncertain = uncertain
        self.retry_helps = retry_helps


class DeliveryError(DigestbotError, RuntimeError):
    """A digest post stopped part-way; `str` is the one line: how far it got, why, what to do."""

    def __init__(self, where: str, posted: int, total: int, cause: ChatError) -> None:
        super().__init__(
            f"posted {posted} of {total} messages to {where}: {cause.reason}; run again to complete"
        )
        self.where = where
        self.posted = posted
        self.total = total
        self.cause = cause

    @property
    def retry_helps(self) -> bool:
        """True when a later retry can complete the post by itself."""
        return self.cause.retry_helps


class PostIncomplete(DigestbotError, RuntimeError):
    """A queued post did not complete (held elsewhere, or a fault a retry can mend): retry it."""
