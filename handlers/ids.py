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

# The forms (modals), their inputs, the endpoint menu, and the message shortcut.
CHANGE_FORM = "convoy_change_form"
DENY_FORM = "convoy_deny_form"
PAUSE_SHORTCUT = "convoy_pause_shortcut"  # "Pause a Convoy endpoint", on a message
ENDPOINT_BLOCK = "endpoint"
ENDPOINT_MENU = "convoy_endpoint_menu"
REASON_BLOCK = "reason"
REASON_INPUT = "convoy_reason"
DURATION_BLOCK = "duration"
DURATION_INPUT = "convoy_duration"

# The watcher's failing card (handlers.watch_cards).
WATCH_PAUSE = "convoy_watch_pause"
WATCH_PAUSE_30M = "convoy_watch_pause_30m"
WATCH_SNOOZE = "convoy_watch_snooze"
WATCH_REENABLE = "convoy_watch_reenable"
