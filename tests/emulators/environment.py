"""The environment that points digestbot's processes at the emulators."""

from __future__ import annotations

from tests.emulators.github_api import GitHubEmulator
from tests.emulators.openai_api import OpenAIEmulator
from tests.emulators.slack_api import SlackEmulator


def emulated_env(
    github: GitHubEmulator, model: OpenAIEmulator, slack: SlackEmulator
) -> dict[str, str]:
    """GitHub, the model and Slack for a `digestbot` subprocess (merge into os.environ)."""
    return {
        "GITHUB_API_URL": github.url,
        "OPENAI_API_KEY": model.key,
        "OPENAI_BASE_URL": model.base_url,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_API_URL": slack.api_url,
    }
