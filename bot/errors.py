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


class LostClaim(DigestbotError, RuntimeError):
    """Another process took a post over (our lease ran out); stop sending."""


class PostBusy(DigestbotError, RuntimeError):
    """Another process holds a post's claim; the queue retries the post job later."""
