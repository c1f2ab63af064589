"""Inbound de-duplication: platforms deliver the same event again, to any of our processes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

# Slack retries an event for about five minutes and Telegram keeps an update for 24 hours:
# remembering two days covers both, and the table stays small.
INBOUND_RETENTION = timedelta(days=2)


class InboundLog(Protocol):
    """Events already handled, shared by every process; implemented by the SQL store."""

    async def first_time(self, platform: str, key: str, now: datetime) -> bool:
        """Note an event; True only for the first delivery of `key` on `platform`."""
        ...

    async def forget(self, platform: str, key: str) -> None:
        """Un-note an event whose handling failed, so that doing it again is not refused."""
        ...
