"""Labels in Chinese (as in the reference report) and English; one table per language."""

from __future__ import annotations

from bot.models import Severity

LANGUAGES = ("zh", "en")
# How prompts name the language the model must write in.
LANGUAGE_NAMES = {"zh": "Simplified Chinese", "en": "English"}

CHANGE_TYPES: dict[str, dict[str, str]] = {
    "zh": {
        "feat": "功能增强",
        "fix": "Bug修复",
        "perf": "性能优化",
        "refactor": "重构",
        "test": "测试修改",
        "docs": "文档更新",
        "ci": "配置调整",
        "build": "构建调整",
        "chore": "日常维护",
        "style": "代码风格",
        "revert": "回滚",
        "change": "代码变更",
        "merge": "合并",
    },
    "en": {
        "feat": "Feature",
        "fix": "Bug fix",
        "perf": "Performance",
        "refactor": "Refactor",
        "test": "Tests",
        "docs": "Documentation",
        "ci": "CI / configuration",
        "build": "Build",
        "chore": "Maintenance",
        "style": "Code style",
        "revert": "Revert",
        "change": "Code change",
        "merge": "Merge",
    },
}

SEVERITY: dict[str, dict[Severity, str]] = {
    "zh": {Severity.HIGH: "🔴高", Severity.MEDIUM: "🟡中", Severity.LOW: "🟢低"},
    "en": {Severity.HIGH: "🔴 High", Severity.MEDIUM: "🟡 Medium", Severity.LOW: "🟢 Low"},
}

# Why a file was not shown whole (FileCoverage.reason), counted; English has a plural form too.
COVERAGE_REASONS: dict[str, dict[str, str | tuple[str, str]]] = {
    "zh": {
        "lockfile": "锁文件 {n} 个",
        "generated": "生成文件 {n} 个",
        "cassette": "录制的请求 {n} 个",
        "vendored": "第三方代码 {n} 个",
        "snapshot": "快照 {n} 个",
        "data": "数据文件 {n} 个",
        "binary": "二进制文件 {n} 个",
        "budget": "超出预算 {n} 个",
        "empty": "空文件 {n} 个",
        "too large": "文件过大 {n} 个",
        "too_large": "文件过大 {n} 个",
        "deleted": "已删除 {n} 个：只给出行数",
    },
    "en": {
        "lockfile": ("{n} lockfile", "{n} lockfiles"),
        "generated": "{n} generated",
        "cassette": ("{n} cassette", "{n} cassettes"),
        "vendored": "{n} vendored",
        "snapshot": ("{n} snapshot", "{n} snapshots"),
        "data": ("{n} data file", "{n} data files"),
        "binary": "{n} binary",
        "budget": "{n} over budget",
        "empty": "{n} empty",
        "too large": "{n} too large",
        "too_large": "{n} too large",
        "deleted": "{n} deleted: line count only",
    },
}

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "每日更新报告（{day}）",
        "col_time": "提交时间",
        "col_author": "作者",
        "col_title": "提交信息",
        "stats": "📊 统计摘要",
        "stats_line": "本日共 {total} 个提交 | 🔴高 {high} | 🟡中 {medium} | 🟢低 {low}",
        "toc": "📋 目录",
        "group_high": "🔴 高重要度变更 ({n})",
        "group_medium": "🟡 中重要度变更 ({n})",
        "group_low": "🟢 低重要度变更 ({n})",
        "view_commit": "查看提交",
        "change_type": "🎯 变更类型",
        "severity": "⚡ 重要程度",
        "summary": "📋 变更摘要",
        "summary_short": "📋 摘要",
        "scope": "🎯 影响范围",
        "insights": "🔍 技术洞察",
        "dimension": "维度",
        "impact": "影响描述",
        "architecture": "架构影响",
        "performance": "性能影响",
        "security": "安全考虑",
        "maintainability": "可维护性",
        "risks": "⚠️ 潜在风险",
        "recommendations": "💡 关注建议",
        "no_commits": "本日没有提交。",
        "colon": "：",
        "list_sep": "、",
        "list_sep_parts": "；",
        "note_rules": "ℹ️ 本条由离线规则分析生成（未配置模型）。",
        "note_fallback": "ℹ️ 本条由离线规则分析生成，因为模型分析失败：{reason}。",
        "note_partial": "ℹ️ 分析只看到了部分差异：{parts}。",
        "part_clipped": "{total} 个文件中 {n} 个截断（{reasons}）",
        "part_omitted": "{total} 个文件中 {n} 个未看（{reasons}）",
        "reason_other": "{reason} {n} 个",
        "files_n": "{n} 个文件",
        "note_judged": "ℹ️ 本条根据提交信息和文件列表判断，未读取差异。",
        "missing_rules_never": "未评估：离线规则不判断此项{cause}。",
        "missing_rules_none": "离线规则未发现{cause}。",
        "missing_model_none": "模型未给出。",
        "missing_cause": "（{reason}）",
        "model_unreachable": "⚠️ 模型不可用：{total} 个提交中的 {n} 个由离线规则分析。",
        "model_partial": "⚠️ 模型对 {total} 个提交中的 {n} 个分析失败，已改由离线规则分析。",
        "full_report": "完整报告",
        "in_report": "在完整报告中查看",
        "more_lows": "低重要度变更 {n} 个",
        "chat_usage": "用法：",
        "chat_follow_up": "在摘要的讨论串中回复（或回复我的任何消息）即可追问某个变更。",
        "chat_team_elsewhere": "订阅需要在 Slack 或 Telegram 中创建，这里不行",
        "chat_explain_one": "explain 需要一个 PR 编号或提交 SHA，例如 explain #6356",
        "chat_explain_what": "“{ref}” 既不是 PR 编号（#6356），也不是提交 SHA",
        "chat_unknown_word": "无法理解 “{word}”",
        "chat_bad_date": "无法识别日期 “{word}”：请使用 today、yesterday、last 或 YYYY-MM-DD",
        "chat_date_range": "日期 {word} 超出范围：请使用 {first} 到 {last} 之间的日期",
        "chat_no_repos": (
            "本聊天还没有关注任何仓库：请在机器人的配置中为 {channel} 添加 [[subscription]]"
        ),
        "chat_not_followed": "本频道没有关注 {repo}；关注的仓库：{known}",
        "chat_not_a_repo": (
            "无法理解 “{word}”：请给出日期（today、yesterday、YYYY-MM-DD 或 last）"
            "或本频道关注的仓库：{known}"
        ),
        "chat_no_commits_yet": "{repo} 还没有任何提交",
        "chat_empty_day": "{repo} 在 {day}（{tz}）没有提交。",
        "chat_latest_commit": "最近一次提交在 {last}：/digest {last} {repo}",
        "chat_never_committed": "它还没有任何提交。",
        "sentence_gap": "",
        "chat_working": "正在生成 {repo} {day} 的摘要…",
        "chat_greeting": (
            "你好，我是 digestbot：每天早上我把所关注仓库的变更及其含义发到聊天里，"
            "回复我的任何消息即可追问某个变更。可用命令："
        ),
        "chat_working_explain": "正在分析 {what}…",
        "chat_not_found": "在 {searched} 中没有找到 {what} 对应的提交。",
        "chat_nothing_followed": "（没有关注的仓库）",
        "chat_source_failed": "无法读取提交：{error}",
    },
    "en": {
        "title": "Daily update report ({day})",
        "col_time": "Committed",
        "col_author": "Author",
        "col_title": "Commit",
        "stats": "📊 Summary",
        "stats_line": (
            "Commits on {day}: {total} | 🔴 High {high} | 🟡 Medium {medium} | 🟢 Low {low}"
        ),
        "toc": "📋 Contents",
        "group_high": "🔴 High-severity changes ({n})",
        "group_medium": "🟡 Medium-severity changes ({n})",
        "group_low": "🟢 Low-severity changes ({n})",
        "view_commit": "view commit",
        "change_type": "🎯 Change type",
        "severity": "⚡ Severity",
        "summary": "📋 Summary",
        "summary_short": "📋 Summary",
        "scope": "🎯 Impact scope",
        "insights": "🔍 Technical insights",
        "dimension": "Dimension",
        "impact": "Impact",
        "architecture": "Architecture",
        "performance": "Performance",
        "security": "Security",
        "maintainability": "Maintainability",
        "risks": "⚠️ Potential risks",
        "recommendations": "💡 Recommendations",
        "no_commits": "No commits on this day.",
        "colon": ": ",
        "list_sep": ", ",
        "list_sep_parts": "; ",
        "note_rules": "ℹ️ Analyzed by the offline rules (no model configured).",
        "note_fallback": "ℹ️ Analyzed by the offline rules because the model failed: {reason}.",
        "note_partial": "ℹ️ The analysis saw part of the diff: {parts}.",
        "part_clipped": "{n} of {total} files clipped ({reasons})",
        "part_omitted": "{n} of {total} files not shown ({reasons})",
        "reason_other": "{n} {reason}",
        "files_n": "files: {n}",
        "note_judged": "ℹ️ Judged from the commit message and file list; the diff was not read.",
        "missing_rules_never": "Not assessed: the offline rules do not judge this{cause}.",
        "missing_rules_none": "None found by the offline rules{cause}.",
        "missing_model_none": "None given by the model.",
        "missing_cause": " ({reason})",
        "model_unreachable": (
            "⚠️ Model unreachable: the offline rules analyzed {n} of {total} commits."
        ),
        "model_partial": (
            "⚠️ The model failed on {n} of {total} commits; the offline rules analyzed them."
        ),
        "full_report": "Full report",
        "in_report": "Read in the full report",
        "more_lows": "{n} low-severity changes",
        "chat_usage": "Usage:",
        "chat_team_elsewhere": "subscriptions are made in Slack or Telegram, not here",
        "chat_follow_up": (
            "Reply in a digest's thread (or to any of my messages) to ask about a change."
        ),
        "chat_explain_one": (
            "explain takes one pull request number or commit SHA, e.g. explain #6356"
        ),
        "chat_explain_what": "{ref!r} is neither a pull request number (#6356) nor a commit SHA",
        "chat_unknown_word": "I don't understand {word!r}",
        "chat_bad_date": "cannot read the date {word!r}: use today, yesterday, last or YYYY-MM-DD",
        "chat_date_range": "the date {word} is out of range: use a day from {first} to {last}",
        "chat_no_repos": (
            "this chat follows no repository yet: add a [[subscription]] for {channel} "
            "to the bot's config"
        ),
        "chat_not_followed": "this channel does not follow {repo}; it follows: {known}",
        "chat_not_a_repo": (
            "I don't understand {word!r}: give a day (today, yesterday, YYYY-MM-DD or last) "
            "or a repository this channel follows: {known}"
        ),
        "chat_no_commits_yet": "{repo} has no commits yet",
        "chat_empty_day": "No commits in {repo} on {day} ({tz}).",
        "chat_latest_commit": "Its latest commit was on {last}: /digest {last} {repo}",
        "chat_never_committed": "It has no commits yet.",
        "sentence_gap": " ",
        "chat_working": "Working on {repo}, {day}…",
        "chat_greeting": (
            "Hi, I'm digestbot: every morning I post what changed in the repositories a chat "
            "follows and what each change means; reply to any of my messages to ask about one. "
            "Commands:"
        ),
        "chat_working_explain": "Looking into {what}…",
        "chat_not_found": "I found no commit for {what} in {searched}.",
        "chat_nothing_followed": "no repositories",
        "chat_source_failed": "{error}",
    },
}


def coverage_reason(language: str, reason: str | None, n: int) -> str:
    """`n` files left out for one reason, in words ("2 lockfiles"); an unknown one as given."""
    forms = COVERAGE_REASONS[language].get(reason or "budget")
    if forms is None:
        return text(language, "reason_other", n=n, reason=reason)
    form = forms if isinstance(forms, str) else forms[0 if n == 1 else 1]
    return form.format(n=n)


def fallback_reason(language: str, reason: str) -> str:
    """Why the model failed, in words: a known code's text, anything else (older text) as given."""
    return FALLBACK_REASONS[language].get(reason, reason)


def text(language: str, key: str, **values: object) -> str:
    """A label in a language, with its placeholders filled."""
    return TEXT[language][key].format(**values)


def change_type_label(language: str, change_type: str) -> str:
    """The label of a change type; an unknown type is shown as given."""
    return CHANGE_TYPES[language].get(change_type, change_type)


# Why an entry fell back to the rules: CommitAnalysis.fallback_reason holds the code, reports
# show the text in their language (bot.notes says why a section is empty).
FALLBACK_REASONS: dict[str, dict[str, str]] = {
    "zh": {
        "timeout": "模型请求超时",
        "unreachable": "无法连接模型",
        "circuit_open": "模型不可达，本次运行已停止调用模型",
        "rate_limited": "模型持续限流（429）",
        "auth": "模型密钥被拒绝",
        "server_error": "模型服务出错（5xx）",
        "bad_request": "模型拒绝了请求（400）",
        "malformed_response": "模型返回的响应格式错误",
        "invalid_output": "模型两次返回无效答案",
        "incomplete_output": "模型两次返回的答案缺少必需部分",
        "cut_off": "模型答案两次被截断",
    },
    "en": {
        "timeout": "the model timed out",
        "unreachable": "could not connect to the model",
        "circuit_open": "model unreachable: this run stopped calling it",
        "rate_limited": "the model kept rate-limiting (429)",
        "auth": "the model key was refused",
        "server_error": "the model service failed (5xx)",
        "bad_request": "the model refused the request (400)",
        "malformed_response": "the model's response was malformed",
        "invalid_output": "the model's answer was invalid twice",
        "incomplete_output": "the model's answer lacked required sections twice",
        "cut_off": "the model's answer was cut off twice",
    },
}
