"""Slack-facing code: parse, ack, one call into `bot`, render."""
