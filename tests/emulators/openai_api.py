"""An OpenAI chat-completions emulator with a deterministic stand-in model and scripted quirks."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tests.emulators.loopback import LoopbackServer, Request, Response

_ID = re.compile(r"commit_id: (\w+)")
_TRIAGE_ENTRY = re.compile(
    r"commit_id: (\w+)\n(?:committed: [^\n]*\n)?rules score: \d+ \((\w+)\)\n"
    r"<untrusted_data>\n(.*?)\n</untrusted_data>",
    re.DOTALL,
)
# The stand-in model rates up what mentions a vulnerability, whatever the rules said.
_ALARMING = re.compile(r"\bCVE-\d|\bsecurity\b|\bvulnerab", re.IGNORECASE)
_PRIOR = re.compile(r"Rules score \(prior\): .*\((high|medium|low|高|中|低)")
_TRIAGE_PRIOR = re.compile(r"Triage \(prior\): (high|medium|low)")
_SCHEMA_IN_PROMPT = re.compile(r"The JSON schema \((\w+)\)")
_TYPE = re.compile(r"^([a-z]+)(\([^)]*\))?!?:")
_ZH = {"高": "high", "中": "medium", "低": "low"}
QUIRKS = ("malformed", "length", "empty", "fenced", "wrong_schema", "hollow")
# OpenAI's answers to a reasoning model (o-series, GPT-5) given the older parameters.
MAX_TOKENS_REFUSED = {
    "error": {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }
}
TEMPERATURE_REFUSED = {
    "error": {
        "message": "Unsupported value: 'temperature' does not support 0.2 with this model. "
        "Only the default (1) value is supported.",
        "type": "invalid_request_error",
        "param": "temperature",
        "code": "unsupported_value",
    }
}


def dead_endpoint() -> str:
    """A base URL on which nothing listens: every connection is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


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
        # Fixed time each completion takes, spent while it counts as in flight.
        self.call_latency = 0.0
        # A provider's concurrency limit: a call over it gets 429 with Retry-After.
        self.max_concurrent: int | None = None
        self.retry_after = "1"
        self.rate_limited = 0
        self.peak_in_flight = 0
        # A reasoning model: max_tokens and a temperature other than 1 are refused (400).
        self.reasoning = False
        # A hanging endpoint: calls are accepted and never answered (until stop()).
        self.hang = False
        self.timeline: list[tuple[float, float]] = []
        # ("recv" | "send", "triage <ids>" | "deep <id>" | "text"), in the order they happened.
        self.events: list[tuple[str, str]] = []
        # Answers to hold back: (which calls, until what holds); a hold gives up after 30 s.
        self.holds: list[tuple[Callable[[str], bool], Callable[[], bool]]] = []
        self.hold_expired = False
        self._in_flight = 0
        self._released = threading.Event()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def stop(self) -> None:
        self._released.set()
        super().stop()

    def calls(self) -> list[dict[str, Any]]:
        bodies = [r.json() for r in self.requests if r.path.endswith("/chat/completions")]
        return [b for b in bodies if isinstance(b, dict)]  # a client may give up mid-send

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
        if self.hang:
            self._released.wait(120)
            return Response(0)
        body = request.json()
        if not isinstance(body, dict):
            return Response(400, {"error": {"message": "no JSON body", "type": "invalid_request"}})
        refused = self._refusal(body)
        if refused is not None:
            return refused
        return self._in_a_slot(body)

    def _refusal(self, body: dict[str, Any]) -> Response | None:
        if self.reasoning and "max_tokens" in body:
            return Response(400, MAX_TOKENS_REFUSED)
        if self.reasoning and body.get("temperature", 1) != 1:
            return Response(400, TEMPERATURE_REFUSED)
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
        return None

    def received(self, label: str) -> bool:
        """Whether a call with this label (or label prefix) has arrived."""
        with self._lock:
            return any(kind == "recv" and text.startswith(label) for kind, text in self.events)

    def _hold(self, label: str) -> None:
        for applies, until in self.holds:
            if not applies(label):
                continue
            deadline = time.monotonic() + 30
            while not until():
                if time.monotonic() > deadline:
                    self.hold_expired = True
                    return
                time.sleep(0.005)

    def _in_a_slot(self, body: dict[str, Any]) -> Response:
        label = self.label(body)
        with self._lock:
            self.events.append(("recv", label))
            if self.max_concurrent is not None and self._in_flight >= self.max_concurrent:
                self.rate_limited += 1
                return Response(
                    429,
                    {"error": {"message": "Rate limit reached", "type": "requests"}},
                    {"Retry-After": self.retry_after},
                )
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        started = time.monotonic()
        try:
            if self.call_latency:
                time.sleep(self.call_latency)
            self._hold(label)
            content = self.answer(body)
            quirk = self.quirks.popleft() if self.quirks else None
            content, finish = self._apply(quirk, content, "stop")
            return Response(200, self._completion(body, content, finish))
        finally:
            with self._lock:
                self._in_flight -= 1
                self.timeline.append((started, time.monotonic()))
                self.events.append(("send", label))

    @staticmethod
    def label(body: dict[str, Any]) -> str:
        """What a call is: "triage <ids>", "deep <id>" or "text"."""
        user = body["messages"][-1]["content"]
        fmt = body.get("response_format") or {}
        name = (fmt.get("json_schema") or {}).get("name")
        if name is None and (match := _SCHEMA_IN_PROMPT.search(body["messages"][0]["content"])):
            name = match.group(1)
        if name == "triage":
            return "triage " + ",".join(cid for cid, _, _ in _TRIAGE_ENTRY.findall(user))
        if name == "commit_analysis":
            found = _ID.search(user)
            return f"deep {found.group(1) if found else '?'}"
        return "text"

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
        if quirk == "hollow":
            # A model that answers the shape but leaves every section empty.
            hollow = json.loads(content)
            hollow.update(impact_scope=[], risks=[], recommendations=[], insights=None)
            return json.dumps(hollow), finish
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
                            "change_type": _change_type(text.split("\n", 1)[0]),
                            "severity": "high" if _ALARMING.search(text) else sev,
                            "severity_reason": "model judged it from the message",
                            "summary": f"Triage summary of {cid}.",
                        }
                        for cid, sev, text in _TRIAGE_ENTRY.findall(user)
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
