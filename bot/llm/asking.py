"""One question to the model for a validated JSON answer, with one repair retry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from bot.errors import ModelCallError
from bot.llm.schema import AnalysisOut, TriageOut, strict_schema
from bot.models import Usage
from bot.ports import ModelClient, ModelReply

M = TypeVar("M", bound=BaseModel)
_SCHEMAS: dict[type[BaseModel], dict[str, object]] = {
    TriageOut: strict_schema(TriageOut),
    AnalysisOut: strict_schema(AnalysisOut),
}
# Failure codes of an answer (the call's own codes come from ModelCallError).
CUT_OFF = "cut_off"
INVALID = "invalid_output"
INCOMPLETE = "incomplete_output"


@dataclass(frozen=True)
class Asked:
    """The outcome of one question: a parsed answer or the reason code why not, and the cost."""

    parsed: BaseModel | None
    usage: Usage
    failure: str | None = None


async def ask(
    client: ModelClient, system: str, user: str, *, name: str, model: type[M], max_tokens: int
) -> Asked:
    """Ask; an invalid or incomplete answer is asked again once, saying what was wrong."""
    schema = _SCHEMAS[model]
    usage = Usage()
    failure = INVALID
    for attempt in range(2):
        try:
            reply = await client.json_call(system, user, name, schema, max_tokens)
        except ModelCallError as exc:
            return Asked(None, usage, exc.code)
        usage = usage + reply.usage
        if reply.finish_reason == "length":
            return Asked(None, usage, CUT_OFF)
        parsed, kind, error = validate(reply, model)
        if parsed is not None:
            return Asked(parsed, usage)
        failure = INCOMPLETE if kind == "incomplete" else INVALID
        if attempt == 0:
            user = (
                f"{user}\n\nYour previous answer was not valid ({error}). "
                "Answer again with JSON only, exactly matching the schema, every section the "
                "severity demands filled."
            )
    return Asked(None, usage, failure)


def validate(reply: ModelReply, model: type[M]) -> tuple[M | None, str, str]:
    """The parsed answer, or the kind of error and its message."""
    text = reply.content.strip()
    if not text:
        return None, "empty", "empty answer"
    # Some providers wrap JSON in a Markdown fence despite json mode.
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        return model.model_validate_json(text), "", ""
    except ValidationError as exc:
        first = exc.errors()[0]
        return None, first["type"], first["msg"][:200]
