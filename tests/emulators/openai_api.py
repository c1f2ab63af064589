"""An OpenAI chat-completions emulator with a deterministic stand-in model and scripted quirks."""

from __future__ import annotations

import json
import re
import time
from collections import deque
from typing import Any

from tests.emulators.loopback import LoopbackServer, Request, Response

_ID = re.compile(r"commit_id: (\w+)")
_TRIAGE_ENTRY = re.compile(r"commit_id: (\w+)\nrules score: \d+ \((\w+)\)\n<untrusted_data>\n(.*)")
_PRIOR = re.compile(r"Rules score \(prior\): .*\((high|medium|low|高|中|低)")
_TRIAGE_PRIOR = re.compile(r"Triage \(prior\): (high|medium|low)")
_SCHEMA_IN_PROMPT = re.compile(r"The JSON schema \((\w+)\)")
_TYPE = re.compile(r"^([a-z]+)(\([^)]*\))?!?:")
_ZH = {"高": "high", "中": "medium", "低": "low"}
QUIRKS = ("malformed", "length", "empty", "fenced", "wrong_schema")


def _change_type(title: str) -> str:
    match = _TYPE.match(title.strip())
    known = {"feat", "fix", "perf", "refactor", "test", "docs", "ci", "build", "chore", "style"}
    return match.group(1) if match and match.group(1) in known else "change"


class OpenAIEmulator(LoopbackServer):
    """POST /v1/chat/completions. `quirks` shapes the next answers; `fail()` gives HTTP faults."""

    def __init__(self, key: str = "test-key") -> None:
        super().__init__()
        self.key = key
        self.quirks: deque[str] = deque()
        self.supports_json_schema = True

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def calls(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.requests if r.path.endswith("/chat/completions")]

    def handle(self, request: Request) -> Response:
        if not request.path.endswith("/chat/completions") or request.method != "POST":
            return Response(404, {"error": {"message": "Not found", "type": "invalid_request"}})
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return Response(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
        body = request.json()
        fmt = (body.get("response_format") or {}).get("type")
        if fmt == "json_schema" and not self.supports_json_schema:
            return Response(
                400,
                {
                    "error": {
                        "message": "response_format json_schema is not supported by this model",
                        "type": "invalid_request_error",
                        "param": "response_format",
                    }
                },
            )
        content = self.answer(body)
        finish = "stop"
        quirk = self.quirks.popleft() if self.quirks else None
        content, finish = self._apply(quirk, content, finish)
        return Response(200, self._completion(body, content, finish))

    @staticmethod
    def _apply(quirk: str | None, content: str, finish: str) -> tuple[str, str]:
        if quirk == "malformed":
            return '{"change_type": "feat", "severity": ', finish
        if quirk == "length":
            return content[: len(content) // 2], "length"
        if quirk == "empty":
            return "", finish
        if quirk == "fenced":
            return f"```json\n{content}\n```", finish
        if quirk == "wrong_schema":
            return json.dumps({"verdict": "looks fine"}), finish
        return content, finish

    def _completion(self, body: dict[str, Any], content: str, finish: str) -> dict[str, Any]:
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body["messages"])
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish,
                    "logprobs": None,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_chars // 4 + 1,
                "completion_tokens": len(content) // 4 + 1,
                "total_tokens": prompt_chars // 4 + len(content) // 4 + 2,
            },
        }

    def answer(self, body: dict[str, Any]) -> str:
        """The stand-in model: follows the priors it is given, so results are predictable."""
        system = body["messages"][0]["content"]
        user = body["messages"][-1]["content"]
        fmt = body.get("response_format") or {}
        name = (fmt.get("json_schema") or {}).get("name")
        if name is None and (match := _SCHEMA_IN_PROMPT.search(system)):
            name = match.group(1)
        if name == "triage":
            return json.dumps(
                {
                    "items": [
                        {
                            "commit_id": cid,
                            "change_type": _change_type(title),
                            "severity": sev,
                            "severity_reason": f"model judged {sev}",
                            "summary": f"Triage summary of {cid}.",
                        }
                        for cid, sev, title in _TRIAGE_ENTRY.findall(user)
                    ]
                }
            )
        if name == "commit_analysis":
            return json.dumps(self._analysis(user))
        return self.text_answer(system, user)

    @staticmethod
    def _analysis(user: str) -> dict[str, Any]:
        cid = _ID.search(user)
        triage = _TRIAGE_PRIOR.search(user)
        prior = _PRIOR.search(user)
        severity = (
            triage.group(1)
            if triage
            else _ZH.get(prior.group(1), prior.group(1))
            if prior
            else "medium"
        )
        title = user.split("Commit message:\n<untrusted_data>\n", 1)[-1].split("\n", 1)[0]
        ident = cid.group(1) if cid else "?"
        high = severity == "high"
        return {
            "change_type": _change_type(title),
            "severity": severity,
            "severity_reason": f"model judged {severity} from the diff",
            "summary": f"Model summary of {ident}: {title[:80]}",
            "impact_scope": [f"scope of {ident}"],
            "insights": {
                "architecture": f"Architecture note on {ident}.",
                "performance": None,
                "security": "No secrets touched.",
                "maintainability": "Clearer code.",
            }
            if high
            else None,
            "risks": [f"Risk in {ident}."],
            "recommendations": [f"Check {ident}."],
        }

    @staticmethod
    def text_answer(system: str, user: str) -> str:
        if "opening paragraph" in system:
            n = user.count("\n- [") + (1 if user.startswith("- [") else 0)
            n = max(n, user.count("- ["))
            return f"Overview: {n} commits analyzed; start with the high ones."
        cid = _ID.search(user)
        return f"Answer about {cid.group(1) if cid else 'the digest'}: see the diff."
