"""The prompt files as a data package, so the wheel ships them (read by bot.prompts)."""
