"""Slack: Block Kit rendering, a paced poster, and the Bolt app (HTTP and Socket Mode)."""
