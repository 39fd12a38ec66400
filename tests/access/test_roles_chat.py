"""`/convoy roles` in chat, Slack user groups, and last-admin protection (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.access.roles import Role
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import ADMIN, PROJECT, BotProcess, eventually
from tests.helpers import AuditRecord, channel_posts, reply_to
from tests.slack_requests import SlackSender


def test_admin_grants_lists_and_revokes_in_chat(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, store: object
) -> None:
    """A grant takes effect on the next command; list shows it; revoke takes it away."""
    endpoint = convoy.add_endpoint("orders-api")

    granted = sender.command(ADMIN, "roles grant <@U0ALICE|alice> operator")
    assert "<@U0ALICE> is now *operator* in every project" in reply_to(slack, granted.token)[0]
    listed = sender.command(ADMIN, "roles list")
    assert "<@U0ALICE> — *operator* in every project" in reply_to(slack, listed.token)[0]
    sender.command("U0ALICE", "pause orders-api")
    eventually(lambda: slack.api_calls("chat.postMessage"), what="Alice's pause")
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"

    revoked = sender.command(ADMIN, "roles revoke <@U0ALICE>")
    assert "<@U0ALICE> no longer has a role" in reply_to(slack, revoked.token)[0]
    again = sender.command("U0ALICE", "resume orders-api")
    assert "you have no role yet" in reply_to(slack, again.token)[0]
    assert len(convoy.writes()) == 1


def test_project_grant_by_bare_id(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, store: object
) -> None:
    """`roles grant U… viewer P` scopes the role to that project (named by its Convoy id or
    its alias); a project the bot does not serve is refused, as a grant there matches nobody."""
    granted = sender.command(ADMIN, f"roles grant U0BOB viewer {PROJECT}")
    confirmation = reply_to(slack, granted.token)[0]  # the grant is done before the list
    listed = sender.command(ADMIN, "roles list default")
    unknown = sender.command(ADMIN, "roles grant U0BOB viewer 01HOTHERPROJECT00000000000")

    assert "is now *viewer* in project `default`" in confirmation
    assert "<@U0BOB> — *viewer* in project `default`" in reply_to(slack, listed.token)[0]
    assert "There is no project `01HOTHERPROJECT00000000000`" in reply_to(slack, unknown.token)[0]


def test_non_admin_roles_grant_is_refused_and_audited(
    slack: FakeSlack,
    sender: SlackSender,
    grant: Callable[..., None],
    audit_entries: Callable[..., list[AuditRecord]],
) -> None:
    """An approver cannot grant roles; nothing changes and the refusal is in the audit trail."""
    grant("U0APPROVER", Role.APPROVER)

    sent = sender.command("U0APPROVER", "roles grant <@U0APPROVER> admin")

    assert "needs the *admin* role" in reply_to(slack, sent.token)[0]
    listed = sender.command(ADMIN, "roles list")
    assert "<@U0APPROVER> — *approver*" in reply_to(slack, listed.token)[0]
    (entry,) = [e for e in audit_entries() if e.command == "roles grant"]
    assert (entry.actor, entry.outcome) == ("U0APPROVER", "refused")
    assert "needs the *admin* role" in entry.detail


def test_user_group_grant_uses_slack_membership_with_a_cache(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, store: object
) -> None:
    """A group member may pause, a non-member may not; Slack is asked once in five minutes."""
    first = convoy.add_endpoint("orders-api")
    second = convoy.add_endpoint("billing-api")
    slack.set_group("S0ONCALL", ["U0MEMBER", "U0OTHERMEMBER"])

    granted = sender.command(ADMIN, "roles grant <!subteam^S0ONCALL|@oncall> operator")
    assert "<!subteam^S0ONCALL> is now *operator*" in reply_to(slack, granted.token)[0]
    sender.command("U0MEMBER", "pause orders-api")
    eventually(lambda: slack.api_calls("chat.postMessage"), what="the member's pause")
    outsider = sender.command("U0OUTSIDER", "pause billing-api")
    assert "you have no role yet" in reply_to(slack, outsider.token)[0]
    sender.command("U0OTHERMEMBER", "pause billing-api")
    eventually(lambda: len(slack.api_calls("chat.postMessage")) == 2, what="the second pause")

    assert convoy.endpoint(first["uid"])["status"] == "paused"
    assert convoy.endpoint(second["uid"])["status"] == "paused"
    lookups = slack.api_calls("usergroups.users.list")
    assert len(lookups) == 1
    assert lookups[0].payload["usergroup"] == "S0ONCALL"


@pytest.mark.parametrize("failure", ["missing_scope", "ratelimited"])
def test_user_group_lookup_failing_denies_until_slack_answers(
    failure: str,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    grant: Callable[..., None],
) -> None:
    """Slack failing usergroups.users.list: the member is refused and nothing changes; the
    failure is not remembered, so once Slack answers the member may pause."""
    endpoint = convoy.add_endpoint("orders-api")
    grant("S0ONCALL", Role.OPERATOR)
    if failure == "missing_scope":  # an app created before the manifest asked for the scope
        slack.fail_method("usergroups.users.list", failure)
    else:  # Slack's 429 on every try, the client's own retries included
        slack.rate_limit("usergroups.users.list", times=3, retry_after=0)

    refused = sender.command("U0MEMBER", "pause orders-api")
    assert "you have no role yet" in reply_to(slack, refused.token)[0]
    assert convoy.writes() == []
    assert slack.api_calls("chat.postMessage") == []
    assert slack.api_calls("usergroups.users.list"), "Slack was asked"
    slack.reset()  # Slack answers again
    slack.set_group("S0ONCALL", ["U0MEMBER"])
    sender.command("U0MEMBER", "pause orders-api")

    post = channel_posts(slack)[0]
    assert "was *paused* by <@U0MEMBER>" in post.text
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    assert [c.accepted for c in slack.api_calls("usergroups.users.list")] == [True]


def test_effective_role_is_the_highest_of_user_and_group(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A viewer in an operator group may pause."""
    endpoint = convoy.add_endpoint("orders-api")
    grant("U0MEMBER", Role.VIEWER)
    grant("S0ONCALL", Role.OPERATOR)
    slack.set_group("S0ONCALL", ["U0MEMBER"])

    sender.command("U0MEMBER", "pause orders-api")

    eventually(lambda: slack.api_calls("chat.postMessage"), what="the pause")
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"


def test_last_admin_cannot_remove_themselves(
    slack: FakeSlack,
    grant: Callable[..., None],
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    """Without bootstrap admins, the only admin can neither revoke nor demote themselves."""
    lonely = bot_factory(CONVOY_BOT_ADMINS="")
    sender = sender_to(lonely)
    grant("U0SOLE", Role.ADMIN)

    revoke = sender.command("U0SOLE", "roles revoke <@U0SOLE>")
    demote = sender.command("U0SOLE", "roles grant <@U0SOLE> viewer")
    assert "would leave no admin" in reply_to(slack, revoke.token)[0]
    assert "would leave no admin" in reply_to(slack, demote.token)[0]
    handover = sender.command("U0SOLE", "roles grant <@U0NEXT> admin")
    reply_to(slack, handover.token)
    leave = sender.command("U0SOLE", "roles revoke <@U0SOLE>")

    assert "no longer has a role" in reply_to(slack, leave.token)[0]


def test_project_admin_cannot_grant_beyond_their_project(
    slack: FakeSlack, sender: SlackSender, grant: Callable[..., None], scope: str
) -> None:
    """An admin of this project only cannot make anyone (themselves included) a global admin."""
    grant("U0LOCALADMIN", Role.ADMIN, scope)

    escalate = sender.command("U0LOCALADMIN", "roles grant <@U0LOCALADMIN> admin *")
    elsewhere = sender.command(
        "U0LOCALADMIN", "roles grant <@U0FRIEND> operator 01HOTHERPROJECT0000000000"
    )
    local = sender.command("U0LOCALADMIN", f"roles grant <@U0FRIEND> operator {PROJECT}")

    assert "needs the *admin* role there" in reply_to(slack, escalate.token)[0]
    assert "There is no project" in reply_to(slack, elsewhere.token)[0]
    assert "is now *operator* in project" in reply_to(slack, local.token)[0]
