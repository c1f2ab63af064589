"""What the model must return, validated with pydantic; strict JSON schemas built from it."""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

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
    """One commit's full analysis; each severity demands its sections (as the report shows)."""

    change_type: ChangeType
    severity: SeverityName
    severity_reason: str = Field(min_length=1, max_length=400)
    summary: str = Field(min_length=1, max_length=3000)
    impact_scope: list[str] = Field(
        max_length=12, description="Files or components affected; non-empty for high and medium."
    )
    insights: InsightsOut | None = Field(
        description="High only, with at least one dimension filled; null for medium and low."
    )
    risks: list[str] = Field(max_length=8, description="1-4 items for high and medium.")
    recommendations: list[str] = Field(max_length=8, description="1-4 items for high and medium.")

    @model_validator(mode="after")
    def _complete(self) -> AnalysisOut:
        missing = missing_sections(self)
        if missing:
            raise PydanticCustomError(
                "incomplete",
                "a {severity} analysis must fill: {missing}",
                {"severity": self.severity, "missing": ", ".join(missing)},
            )
        return self


def missing_sections(out: AnalysisOut) -> list[str]:
    """The sections the answer's severity demands but it left empty."""
    if out.severity == "low":
        return []
    wanted: dict[str, bool] = {
        "impact_scope": any(s.strip() for s in out.impact_scope),
        "risks": any(s.strip() for s in out.risks),
        "recommendations": any(s.strip() for s in out.recommendations),
    }
    if out.severity == "high":
        filled = out.insights is not None and any(
            (v or "").strip() for v in out.insights.model_dump().values()
        )
        wanted["insights"] = filled
    return [name for name, ok in wanted.items() if not ok]


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
