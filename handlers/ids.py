"""Slack identifiers shared by the Block Kit builders and the listener registrations."""

from __future__ import annotations

SLASH_COMMAND = "/convoy"

RESUME_BUTTON = "convoy_resume"
PICK_ENDPOINT = "convoy_pick_endpoint"
