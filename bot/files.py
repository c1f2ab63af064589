"""Classify changed files: what kind of file it is, and whether its patch is noise to a model."""

from __future__ import annotations

import enum
import fnmatch
from pathlib import PurePosixPath

from bot.models import FileChange


class FileKind(enum.Enum):
    """The kinds the severity rules weigh and the budget orders by."""

    CODE = "code"
    TEST = "test"
    CONFIG = "config"
    DOCS = "docs"
    OTHER = "other"


_LOCKFILES = {
    "cargo.lock",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "uv.lock",
    "pipfile.lock",
    "gemfile.lock",
    "composer.lock",
    "go.sum",
    "flake.lock",
    "bun.lockb",
    "pdm.lock",
    "mix.lock",
    "podfile.lock",
    "packages.lock.json",
}
_GENERATED_GLOBS = (
    "*_pb2.py",
    "*_pb2_grpc.py",
    "*.pb.go",
    "*.pb.cc",
    "*.pb.h",
    "*.generated.*",
    "*.gen.go",
    "*_generated.*",
    "zz_generated*",
    "*.min.js",
    "*.min.css",
    "*.map",
)
# Compiled agentic-workflow files and similar: regenerated whole from a source next to them.
_GENERATED_SUFFIXES = (".lock.yml", ".lock.yaml")
# Recorded HTTP interactions (VCR.py, vcr, Betamax, Polly): bodies no reviewer reads.
_CASSETTE_DIRS = {"cassettes", "vcr_cassettes", "__cassettes__", "recordings", "__recordings__"}
_VENDORED_DIRS = {"vendor", "third_party", "node_modules", "vendored", "dist", "_vendor"}
_SNAPSHOT_GLOBS = ("*.snap", "__snapshots__/*", "*.ambr", "*/snapshots/*")
_DATA_SUFFIXES = {".csv", ".tsv", ".parquet", ".jsonl", ".ndjson", ".sql.gz", ".pkl", ".npy"}
_CODE_SUFFIXES = {
    ".py",
    ".rs",
    ".go",
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".hpp",
    ".cu",
    ".cuh",
    ".java",
    ".kt",
    ".scala",
    ".js",
    ".jsx",
    ".ts",
    ".tsx",
    ".mjs",
    ".cjs",
    ".rb",
    ".php",
    ".swift",
    ".m",
    ".cs",
    ".fs",
    ".ex",
    ".exs",
    ".erl",
    ".hs",
    ".ml",
    ".clj",
    ".lua",
    ".sh",
    ".bash",
    ".zsh",
    ".pl",
    ".r",
    ".jl",
    ".dart",
    ".vue",
    ".svelte",
    ".sql",
    ".proto",
    ".zig",
    ".nim",
    ".pyx",
}
_CONFIG_SUFFIXES = {
    ".yaml",
    ".yml",
    ".toml",
    ".ini",
    ".cfg",
    ".conf",
    ".json",
    ".xml",
    ".properties",
    ".env",
    ".tf",
    ".hcl",
    ".gradle",
    ".mk",
    ".cmake",
    ".bazel",
    ".bzl",
    ".nix",
}
_CONFIG_NAMES = {
    "dockerfile",
    "makefile",
    "procfile",
    "justfile",
    "cmakelists.txt",
    "requirements.txt",
    ".gitignore",
    ".dockerignore",
    ".gitattributes",
    ".editorconfig",
    "build",
    "workspace",
    "codeowners",
    "containerfile",
}
_DOC_SUFFIXES = {".md", ".rst", ".txt", ".adoc", ".mdx", ".ipynb"}
_DOC_DIRS = {"docs", "doc", "documentation"}
_TEST_DIRS = {"tests", "test", "__tests__", "spec", "testing", "e2e", "testdata"}


def _parts(path: str) -> tuple[PurePosixPath, list[str]]:
    pure = PurePosixPath(path)
    return pure, [p.lower() for p in pure.parts]


def noise_reason(change: FileChange) -> str | None:
    """Why a file's patch is left out of a model's view, or None when it is worth reading."""
    pure, parts = _parts(change.path)
    name = pure.name.lower()
    checks = (
        (change.binary, "binary"),
        (name in _LOCKFILES, "lockfile"),
        (any(fnmatch.fnmatch(name, g) for g in _GENERATED_GLOBS), "generated"),
        (name.endswith(_GENERATED_SUFFIXES), "generated"),
        (bool(_CASSETTE_DIRS.intersection(parts[:-1])), "cassette"),
        (bool(_VENDORED_DIRS.intersection(parts[:-1])), "vendored"),
        (any(fnmatch.fnmatch(change.path.lower(), g) for g in _SNAPSHOT_GLOBS), "snapshot"),
        (pure.suffix.lower() in _DATA_SUFFIXES, "data"),
    )
    return next((reason for hit, reason in checks if hit), None)


def file_kind(path: str) -> FileKind:
    """The kind the severity rules weigh: code, test, config, docs or other."""
    pure, parts = _parts(path)
    name = pure.name.lower()
    suffix = pure.suffix.lower()
    if name in _LOCKFILES:
        return FileKind.CONFIG
    if (
        _TEST_DIRS.intersection(parts[:-1])
        or name.startswith("test_")
        or PurePosixPath(name).stem.endswith(("_test", ".test", ".spec", "_spec"))
    ):
        return FileKind.TEST
    if _DOC_DIRS.intersection(parts[:-1]) and suffix not in _CODE_SUFFIXES:
        return FileKind.DOCS
    if suffix in _DOC_SUFFIXES and name not in {"requirements.txt", "cmakelists.txt"}:
        return FileKind.DOCS
    if ".github" in parts or name in _CONFIG_NAMES or suffix in _CONFIG_SUFFIXES:
        return FileKind.CONFIG
    if name.startswith("dockerfile"):
        return FileKind.CONFIG
    if suffix in _CODE_SUFFIXES:
        return FileKind.CODE
    return FileKind.OTHER


_DEEP_ROOTS = {
    "src",
    "lib",
    "libs",
    "packages",
    "crates",
    "apps",
    "services",
    "components",
    "deploy",
    "cmd",
    "pkg",
    "internal",
    "modules",
    "plugins",
    "examples",
}


def component(path: str) -> str:
    """The component a file belongs to: its top directory, two levels under roots like src/."""
    parts = PurePosixPath(path).parts
    if len(parts) == 1:
        return parts[0]
    if parts[0].lower() in _DEEP_ROOTS and len(parts) > 2:
        return f"{parts[0]}/{parts[1]}/"
    return f"{parts[0]}/"
