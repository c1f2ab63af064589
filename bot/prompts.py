"""Prompt files: versioned TOML in prompts/, rendered strictly (missing or unused values fail)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

from bot.errors import PromptError

# prompts/ is a data package: found through the import system, so an installed wheel reads the
# copy it ships, and an editable install the working tree's.
PROMPTS_PACKAGE = "prompts"
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_DATA_TAG = "untrusted_data"


@dataclass(frozen=True)
class Prompt:
    """A system and a user template with a version that keys every cached answer."""

    name: str
    version: str
    system: str
    user: str

    def render(self, **values: str) -> tuple[str, str]:
        """(system, user) with every placeholder filled; extra or missing values fail."""
        wanted = set(_PLACEHOLDER.findall(self.system)) | set(_PLACEHOLDER.findall(self.user))
        missing, unused = wanted - values.keys(), values.keys() - wanted
        if missing or unused:
            raise PromptError(
                f"prompt {self.name}: missing {sorted(missing)}, unused {sorted(unused)}"
            )
        return _fill(self.system, values), _fill(self.user, values)


def _fill(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def untrusted(text: str) -> str:
    """Wrap commit text or a diff so the model reads it as data; it cannot close the wrapper."""
    cleaned = text.replace(f"</{_DATA_TAG}", f"< /{_DATA_TAG}").replace(
        f"<{_DATA_TAG}", f"< {_DATA_TAG}"
    )
    return f"<{_DATA_TAG}>\n{cleaned}\n</{_DATA_TAG}>"


def load_prompt(name: str, directory: Traversable | None = None) -> Prompt:
    """Read prompts/<name>.toml (from the `prompts` package by default): version, system, user."""
    path = (directory or _package_files()) / f"{name}.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return Prompt(name, str(raw["version"]), str(raw["system"]), str(raw["user"]))
    except FileNotFoundError:
        raise PromptError(f"prompt file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, KeyError) as exc:
        raise PromptError(f"prompt file {path} is malformed: {exc}") from None


def _package_files() -> Traversable:
    try:
        return files(PROMPTS_PACKAGE)
    except ModuleNotFoundError:
        raise PromptError(
            "the prompts package is not installed: reinstall digestbot (pip install digestbot)"
        ) from None
