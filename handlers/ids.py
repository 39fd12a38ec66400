"""Slack identifiers shared by the Block Kit builders and the listener registrations."""

from __future__ import annotations

SLASH_COMMAND = "/convoy"

RESUME_BUTTON = "convoy_resume"
PICK_ENDPOINT = "convoy_pick_endpoint"
APPROVE_BUTTON = "convoy_approve"
DENY_BUTTON = "convoy_deny"
CONFIRM_REENABLE = "convoy_confirm_reenable"
EXTEND_BUTTON = "convoy_extend"
KEEP_BUTTON = "convoy_keep_paused"
RETRY_DISCARDED = "convoy_retry_discarded"
PICK_PROJECT = "convoy_pick_project"
