"""The forms' builders: every view within Slack's limits for modals, whatever it shows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Action, Endpoint, EndpointStatus
from handlers.blocks import modals
from tests.fakes.block_kit import options_problems, view_problems

pytestmark = pytest.mark.no_redis  # touches no Redis: run in the single-node pass only

NAMES = st.text(min_size=1, max_size=400) | st.sampled_from(["x" * 5000, "<!channel> & co"])


@settings(max_examples=50, deadline=None)
@given(
    name=NAMES,
    uid=st.sampled_from(["01HXYZ", "u" * 150, "u" * 151]),
    project=NAMES,
    note=st.text(max_size=4000),
)
def test_every_form_is_within_slacks_limits(name: str, uid: str, project: str, note: str) -> None:
    """Any endpoint name, uid, note or project name: each form and the menu's options are
    views and answers Slack takes."""
    endpoint = Endpoint(uid=uid, name=name, status=EndpointStatus.PAUSED)
    metadata = "m" * 3000

    views = [
        modals.loading_view(Action.PAUSE, metadata),
        modals.refusal_view(Action.RESUME, note or "x"),
        modals.change_view(
            Action.PAUSE,
            metadata,
            max_pause=timedelta(hours=24),
            selected=endpoint,
            note=note,
            project=project,
        ),
        modals.deny_view(metadata, note),
    ]

    assert [view_problems(view) for view in views] == [[]] * len(views)
    assert options_problems({"options": modals.endpoint_options([endpoint] * 150)}) == []


def test_the_form_names_its_project_only_when_given_one() -> None:
    """One project: the form says nothing of it; several: it names the one it acts in."""
    one = modals.change_view(Action.PAUSE, "m", max_pause=timedelta(hours=1))
    several = modals.change_view(Action.PAUSE, "m", max_pause=timedelta(hours=1), project="eu")

    assert "Project:" not in json.dumps(one["blocks"])
    assert several["blocks"][0] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Project: `eu`"}],
    }


def test_an_options_label_gives_back_the_name_it_shows() -> None:
    """The name in a submitted option's label, without the status the menu adds."""
    endpoint = Endpoint(uid="u", name="Orders (EU) api", status=EndpointStatus.ACTIVE)

    label = modals.endpoint_option(endpoint)["text"]["text"]

    assert label == "Orders (EU) api (active)"
    assert modals.option_name(label) == "Orders (EU) api"
    assert modals.option_name("no status") == "no status"
