"""A loopback WebSocket endpoint standing in for the URL Slack's apps.connections.open hands out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from tests.emulators.slack_api import SlackEmulator

Link = Callable[[web.Request], Awaitable[web.WebSocketResponse]]


async def serve_link(slack: SlackEmulator, link: Link) -> web.AppRunner:
    """Serve `link` on a free port and make the emulator hand its URL out; clean up the runner."""
    server = web.Application()
    server.router.add_get("/link", link)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    slack.socket_url = f"ws://127.0.0.1:{port}/link"
    return runner
