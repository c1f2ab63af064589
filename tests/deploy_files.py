"""The deployment files as the tests read them: Dockerfile stages, compose.yaml, Procfile, env."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dockerfile
import yaml

from bot.config import _ENV_KEYS

ROOT = Path(__file__).resolve().parent.parent
# Read by the process itself or by its platform, beside the settings the bot maps from the env.
PLATFORM_ENV = {"PORT", "DATABASE_URL", "LOG_FORMAT", "DIGESTBOT_CONFIG", "METRICS_PORT"}


def known_env() -> set[str]:
    """Every environment variable digestbot reads."""
    return set(_ENV_KEYS) | PLATFORM_ENV


@dataclass(frozen=True)
class Stage:
    """One FROM … stage of the Dockerfile and its instructions."""

    name: str
    base: str
    commands: tuple[dockerfile.Command, ...]

    def all(self, instruction: str) -> list[dockerfile.Command]:
        return [c for c in self.commands if c.cmd == instruction]

    def run_with(self, needle: str) -> dockerfile.Command:
        """The one RUN instruction whose shell command contains `needle`."""
        found = [c for c in self.all("RUN") if needle in c.value[0]]
        assert len(found) == 1, f"expected one RUN with {needle!r} in stage {self.name}"
        return found[0]

    def last(self, instruction: str) -> dockerfile.Command:
        return self.all(instruction)[-1]


def dockerfile_stages() -> list[Stage]:
    """The Dockerfile, parsed by BuildKit's own parser, split into its stages."""
    stages: list[Stage] = []
    current: list[dockerfile.Command] = []
    for command in dockerfile.parse_file(str(ROOT / "Dockerfile")):
        if command.cmd == "FROM":
            current = []
            value = command.value
            name = value[2] if len(value) == 3 and value[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name, value[0], ()))
        if stages:
            current.append(command)
            stages[-1] = Stage(stages[-1].name, stages[-1].base, tuple(current))
    return stages


def healthcheck() -> list[str]:
    """The Dockerfile's HEALTHCHECK command (exec form), without the leading CMD."""
    command = dockerfile_stages()[-1].last("HEALTHCHECK")
    assert command.json and command.value[0] == "CMD"
    return list(command.value[1:])


def procfile() -> dict[str, str]:
    """Procfile role → command."""
    roles = {}
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        if line.strip():
            role, command = line.split(":", 1)
            roles[role.strip()] = command.strip()
    return roles


def compose() -> dict[str, Any]:
    """compose.yaml as a mapping (YAML merge keys resolved, as Compose resolves them)."""
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def app_json() -> dict[str, Any]:
    """Heroku's app.json."""
    loaded = json.loads((ROOT / "app.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


# Token shapes of the platforms digestbot talks to: none may be written into a deployment file.
SECRET_SHAPES = re.compile(
    r"(xox[abpr]|xapp)-[\w-]{10,}|sk-[\w-]{16,}|gh[pousr]_\w{20,}|github_pat_\w{20,}|\d{6,}:[\w-]{30,}"
)
