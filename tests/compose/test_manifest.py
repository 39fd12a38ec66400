"""The Slack app manifest declares what the bot answers, within the manifest's own limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from handlers import ids
from handlers.parsing import VERBS

pytestmark = pytest.mark.no_redis  # touches no Redis: run in the single-node pass only

MANIFEST = Path(__file__).parents[2] / "manifest.yml"


def _manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_the_manifest_has_the_shortcut_and_the_options_url() -> None:
    """The message shortcut carries the callback id the bot listens for, and the endpoint
    menu's options are asked for on the same events URL as everything else."""
    manifest = _manifest()
    (shortcut,) = manifest["features"]["shortcuts"]
    interactivity = manifest["settings"]["interactivity"]

    assert shortcut["type"] == "message"
    assert shortcut["callback_id"] == ids.PAUSE_SHORTCUT
    assert shortcut["name"] == "Pause a Convoy endpoint"
    assert len(shortcut["name"]) <= 24
    assert len(shortcut["description"]) <= 150
    assert interactivity["message_menu_options_url"] == interactivity["request_url"]
    assert interactivity["request_url"] == "https://YOUR-HOST/slack/events"


def test_the_usage_hint_names_every_command() -> None:
    """Every `/convoy` subcommand is in the usage hint, which stays within Slack's 1,000."""
    (command,) = _manifest()["features"]["slash_commands"]
    named = {part.split()[0] for part in command["usage_hint"].split(" | ")}

    assert named == set(VERBS)
    assert len(command["usage_hint"]) <= 1000
    assert command["should_escape"] is True


def test_the_socket_mode_manifest_is_the_http_one_without_urls() -> None:
    """manifest-socket-mode.yml asks for the same scopes, command and shortcut, with Socket
    Mode on and no URL to reach; both have the Home tab with its `app_home_opened` event and
    the read-only Messages tab the DM fallback needs."""
    http = _manifest()
    socket: dict[str, Any] = yaml.safe_load(
        (MANIFEST.parent / "manifest-socket-mode.yml").read_text()
    )
    (command,) = http["features"]["slash_commands"]
    del command["url"]
    del http["settings"]["interactivity"]["request_url"]
    del http["settings"]["interactivity"]["message_menu_options_url"]
    del http["settings"]["event_subscriptions"]["request_url"]
    del http["oauth_config"]["redirect_urls"]  # OAuth installs come back over HTTPS
    http["settings"]["socket_mode_enabled"] = True

    assert socket == http
    assert "YOUR-HOST" not in (MANIFEST.parent / "manifest-socket-mode.yml").read_text()
    assert socket["features"]["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": True,
    }
    assert socket["settings"]["event_subscriptions"] == {
        "bot_events": ["app_home_opened", "app_uninstalled", "tokens_revoked"]
    }
