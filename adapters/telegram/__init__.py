"""Telegram: HTML rendering packed by UTF-16 length, a paced poster, and the PTB application."""
