"""What the model must return, validated with pydantic; strict JSON schemas built from it."""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.models import ChangeType

SeverityName = Literal["high", "medium", "low"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TriageItem(_Out):
    """One commit's quick judgement."""

    commit_id: str
    change_type: ChangeType
    severity: SeverityName
    severity_reason: str = Field(max_length=400)
    summary: str = Field(max_length=1200)


class TriageOut(_Out):
    """The triage of a batch of commits."""

    items: list[TriageItem]


class InsightsOut(_Out):
    """High-severity insights; null where a dimension has nothing to say."""

    architecture: str | None
    performance: str | None
    security: str | None
    maintainability: str | None


class AnalysisOut(_Out):
    """One commit's full analysis."""

    change_type: ChangeType
    severity: SeverityName
    severity_reason: str = Field(max_length=400)
    summary: str = Field(min_length=1, max_length=3000)
    impact_scope: list[str] = Field(max_length=12)
    insights: InsightsOut | None
    risks: list[str] = Field(max_length=8)
    recommendations: list[str] = Field(max_length=8)


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A JSON schema in the strict form OpenAI's structured outputs require."""
    schema = copy.deepcopy(model.model_json_schema())
    _strictify(schema)
    for definition in schema.get("$defs", {}).values():
        _strictify(definition)
    return schema


def _strictify(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node["additionalProperties"] = False
            node["required"] = list(node["properties"])
        for key in ("maxLength", "minLength", "maxItems", "minItems", "default", "title"):
            node.pop(key, None)
        for value in node.values():
            _strictify(value)
    elif isinstance(node, list):
        for item in node:
            _strictify(item)
