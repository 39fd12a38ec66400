"""One app installed through OAuth in many workspaces: each workspace's state apart.

Two workspaces install the bot against the fake Slack's OAuth; each adds its own project
(with the CLI, `--workspace`); what one does is never seen, named, resolved or clicked by
the other, and every post goes out with the posting workspace's own token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot import redis_keys
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.loopback import LoopbackServer
from tests.fakes.slack import FakeSlack, SlackCall
from tests.fakes.slack_installs import CLIENT_SECRET
from tests.harness import clean_env, eventually, run_cli_here, wait_until_idle
from tests.helpers import button, filled_form, message, reply_to, view_text
from tests.watch.helpers import cards, failing
from tests.workspaces.conftest import (
    ALPHA,
    ALPHA_ADMIN,
    ALPHA_CHANNEL,
    BRAVO,
    BRAVO_ADMIN,
    BRAVO_CHANNEL,
    ManyWorkspaces,
)


def _team_of(slack: FakeSlack, call: SlackCall) -> str:
    """Whose token a Web API call carried."""
    bearer = call.headers.get("authorization", "").partition(" ")[2]
    grant = slack.installs.grant_of(bearer or str(call.payload.get("token", "")))
    assert grant is not None, f"{call.name} went out without a token of the app"
    return grant.team_id or grant.enterprise_id


def _gone(bots: ManyWorkspaces, key: str, what: str) -> None:
    store = bots.store()
    eventually(lambda: not store.exists(key) or None, what=f"{what} to be deleted")


def _posts_in(slack: FakeSlack, channel: str) -> list[SlackCall]:
    return [c for c in slack.api_calls("chat.postMessage") if c.payload.get("channel") == channel]


def test_two_workspaces_install_through_oauth_and_never_see_each_other(
    many: Callable[..., ManyWorkspaces],
    convoy: FakeConvoy,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    second_convoy: tuple[FakeConvoy, str],
    slack: FakeSlack,
) -> None:
    bots = many()
    bravo_convoy, _ = second_convoy
    bots.alpha_and_bravo((convoy, convoy_fake[1].url), second_convoy)
    orders = convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())
    bravo_convoy.add_endpoint("billing-api")
    alpha, bravo = bots.sender(ALPHA), bots.sender(BRAVO)

    # Tokens rest sealed: no bot token in any value Redis holds.
    store = bots.store()
    for key in store.scan_iter(match="convoy-bot:install*"):
        read = {"string": store.get, "hash": store.hgetall, "set": store.smembers}
        raw = str(read[str(store.type(key))](key))
        assert "xoxb-" not in raw, f"{key} holds a token in the clear"

    # A pauses its endpoint; the installer is A's admin.
    alpha.command(ALPHA_ADMIN, "pause orders-api bad payloads", channel_id=ALPHA_CHANNEL)
    posted = eventually(lambda: _posts_in(slack, ALPHA_CHANNEL), what="A's channel post")
    assert "was *paused* by <@U0ALPHAADMIN>" in posted[0].text
    assert _team_of(slack, posted[0]) == ALPHA
    assert [w.operation for w in convoy.writes()] == ["pause"]

    # B sees none of it, and cannot name it, resolve A's project or reach A's Convoy.
    listing = bravo.command(BRAVO_ADMIN, "paused", channel_id=BRAVO_CHANNEL)
    (seen,) = reply_to(slack, listing.token)
    assert "orders-api" not in seen
    by_name = bravo.command(BRAVO_ADMIN, "resume orders-api", channel_id=BRAVO_CHANNEL)
    assert "orders-api" in reply_to(slack, by_name.token)[0]
    by_project = bravo.command(
        BRAVO_ADMIN, "resume orders-api --project alpha", channel_id=BRAVO_CHANNEL
    )
    assert "There is no project `alpha`" in reply_to(slack, by_project.token)[0]
    assert [w.operation for w in convoy.writes()] == ["pause"], "B changed A's endpoint"
    assert convoy.endpoint(orders["uid"])["status"] == "paused"
    assert bravo_convoy.writes() == []

    # A's roles are not B's: A's admin is nobody in B.
    stranger = bravo.command(ALPHA_ADMIN, "pause billing-api", channel_id=BRAVO_CHANNEL)
    assert "role" in reply_to(slack, stranger.token)[0].lower()
    assert bravo_convoy.writes() == []

    # A's approval request, clicked from B with its own value: refused, still pending in A.
    code, _, err = bots.cli("roles", "grant", "U0ALPHAASK", "requester", "--workspace", ALPHA)
    assert code == 0, err
    checkout = convoy.add_endpoint("checkout-api")
    alpha.command("U0ALPHAASK", "pause checkout-api flaky", channel_id=ALPHA_CHANNEL)
    request = eventually(
        lambda: [p for p in _posts_in(slack, ALPHA_CHANNEL) if "asks to *pause*" in p.text],
        what="A's approval request",
    )[0]
    value = button(request, ids.APPROVE_BUTTON)["value"]
    forged = bravo.click(
        BRAVO_ADMIN, ids.APPROVE_BUTTON, value, channel_id=BRAVO_CHANNEL, message=message(request)
    )
    assert reply_to(slack, forged.token)
    assert convoy.endpoint(checkout["uid"])["status"] == "active"
    assert slack.api_calls("chat.update") == [], "B's click changed A's request message"

    # B's App Home shows B's world, published with B's token.
    bravo.home_opened(BRAVO_ADMIN)
    view = eventually(lambda: slack.api_calls("views.publish"), what="B's Home")[-1]
    assert _team_of(slack, view) == BRAVO
    assert "orders-api" not in view_text(view.payload["view"])
    assert "checkout-api" not in view_text(view.payload["view"])

    # And the other way: B's own pause is nothing A can see, name or undo.
    bravo.command(BRAVO_ADMIN, "pause billing-api B's own", channel_id=BRAVO_CHANNEL)
    eventually(lambda: _posts_in(slack, BRAVO_CHANNEL), what="B's channel post")
    assert [w.operation for w in bravo_convoy.writes()] == ["pause"]
    seen_by_a = alpha.command(ALPHA_ADMIN, "paused", channel_id=ALPHA_CHANNEL)
    assert "billing-api" not in reply_to(slack, seen_by_a.token)[0]
    undo = alpha.command(ALPHA_ADMIN, "resume billing-api", channel_id=ALPHA_CHANNEL)
    assert "billing-api" in reply_to(slack, undo.token)[0]
    assert [w.operation for w in bravo_convoy.writes()] == ["pause"], "A resumed B's endpoint"
    alpha.home_opened(ALPHA_ADMIN)
    alpha_home = eventually(
        lambda: [v for v in slack.api_calls("views.publish") if _team_of(slack, v) == ALPHA],
        what="A's Home",
    )[-1]
    assert "orders-api" in view_text(alpha_home.payload["view"])
    assert "billing-api" not in view_text(alpha_home.payload["view"])

    # Each workspace's audit holds its own entries only.
    code, alpha_audit, _ = bots.cli("audit", "--workspace", ALPHA)
    assert code == 0
    code, bravo_audit, _ = bots.cli("audit", "--workspace", BRAVO)
    assert code == 0
    assert f"{ALPHA_ADMIN} pause orders-api" in alpha_audit
    assert ALPHA_ADMIN not in bravo_audit.replace(f"{ALPHA_ADMIN} pause billing-api", "")
    assert f"{BRAVO_ADMIN} resume orders-api (-) -> failed" in bravo_audit  # B's own try
    assert f"{ALPHA_ADMIN} pause billing-api" in bravo_audit  # refused in B, audited in B
    assert f"{BRAVO_ADMIN} pause billing-api" in bravo_audit
    assert f"{ALPHA_ADMIN} resume billing-api (-) -> failed" in alpha_audit  # A's own try
    assert BRAVO_ADMIN not in alpha_audit

    # Every key of A's state is under A's prefix; nothing of it under B's or unprefixed.
    alpha_keys = set(store.scan_iter(match=f"convoy-bot:ws:{ALPHA}:*"))
    assert any(":hold:" in k for k in alpha_keys)
    bravo_keys = set(store.scan_iter(match=f"convoy-bot:ws:{BRAVO}:*"))
    assert any(":hold:" in k for k in bravo_keys)
    assert not alpha_keys & bravo_keys
    assert not [
        k
        for k in store.scan_iter(match="convoy-bot:*")
        if not k.startswith(("convoy-bot:ws:", "convoy-bot:install", "convoy-bot:workspaces"))
        and k not in ("convoy-bot:alive", "convoy-bot:clock-offset")
        and not k.startswith("convoy-bot:oauth-state")
    ], "state written outside any workspace"


def test_an_org_wide_install_serves_two_workspaces_of_its_org(
    many: Callable[..., ManyWorkspaces],
    convoy: FakeConvoy,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack: FakeSlack,
) -> None:
    """Installed on an Enterprise Grid org: its workspaces share one state (the org's), and
    the org's token reaches channels in each of them."""
    bots = many()
    slack.installs.add_team("T0ORGEAST", "E0ORG")
    slack.installs.add_team("T0ORGWEST", "E0ORG")
    slack.add_channel("C0EAST", team="T0ORGEAST")
    slack.add_channel("C0WEST", team="T0ORGWEST")
    done = bots.install(enterprise_id="E0ORG", org_wide=True, user_id="W0ORGADMIN")
    assert done.status_code == 200, done.text
    bots.add_project("E0ORG", "org", convoy, convoy_fake[1].url)
    convoy.add_endpoint("orders-api")
    east = bots.sender("T0ORGEAST", enterprise_id="E0ORG", org_wide=True)
    west = bots.sender("T0ORGWEST", enterprise_id="E0ORG", org_wide=True)

    east.command("W0ORGADMIN", "pause orders-api east saw errors", channel_id="C0EAST")
    posted = eventually(lambda: _posts_in(slack, "C0EAST"), what="the post in the east")
    assert _team_of(slack, posted[0]) == "E0ORG"
    listing = west.command("W0ORGADMIN", "paused", channel_id="C0WEST")

    assert "orders-api" in reply_to(slack, listing.token)[0], "the org's state is shared"
    assert [w.operation for w in convoy.writes()] == ["pause"]

    # A role given to a user group of the org: looked up with the org's token, naming the
    # workspace the request came from (Slack refuses an org token's lookup without one).
    code, _, err = bots.cli("roles", "grant", "S0ORGOPS", "operator", "--workspace", "E0ORG")
    assert code == 0, err
    slack.set_group("S0ORGOPS", ["W0ORGOPER"])
    convoy.add_endpoint("billing-api")
    west.command("W0ORGOPER", "pause billing-api from the west", channel_id="C0WEST")
    eventually(lambda: _posts_in(slack, "C0WEST"), what="the post in the west")
    (lookup,) = slack.api_calls("usergroups.users.list")
    assert lookup.payload["team_id"] == "T0ORGWEST"
    assert [w.operation for w in convoy.writes()] == ["pause", "pause"]
    code, out, _ = bots.cli("workspaces", "list")
    assert code == 0
    assert "E0ORG\tE0ORG\t-\torg-wide" in out

    # Uninstalled from the org (the event names no workspace): the org's tokens go.
    east.event({"type": "app_uninstalled", "event_ts": "1.0"})
    _gone(bots, redis_keys.installation_bot("E0ORG", None), "the org's installation")


def test_uninstall_deletes_the_tokens_and_purge_the_rest(
    many: Callable[..., ManyWorkspaces],
    convoy: FakeConvoy,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack: FakeSlack,
) -> None:
    """`app_uninstalled` deletes the workspace's tokens at once (Bolt's listener, enabled);
    its commands are then told to reinstall and change nothing; its other state stays until
    `workspaces purge`, which is refused while the bot is installed."""
    bots = many()
    bots.install(ALPHA, user_id=ALPHA_ADMIN)
    bots.install(BRAVO, user_id=BRAVO_ADMIN)
    slack.add_channel(ALPHA_CHANNEL, team=ALPHA)
    bots.add_project(ALPHA, "alpha", convoy, convoy_fake[1].url)
    bots.add_project(BRAVO, "bravo", convoy, convoy_fake[1].url)
    convoy.add_endpoint("orders-api")
    alpha = bots.sender(ALPHA)
    store = bots.store()

    code, _, err = bots.cli("workspaces", "purge", ALPHA)
    assert code == 1
    assert "still has the bot installed" in err

    alpha.event({"type": "app_uninstalled", "event_ts": "1.0"})
    for key in (
        redis_keys.installation_bot(None, ALPHA),
        redis_keys.installation_installer(None, ALPHA, None),
        redis_keys.installation_installer(None, ALPHA, ALPHA_ADMIN),
    ):
        _gone(bots, key, "A's installation records")
    slack.installs.uninstall(ALPHA)
    after = alpha.command(ALPHA_ADMIN, "pause orders-api", channel_id=ALPHA_CHANNEL)

    assert "reinstall" in reply_to(slack, after.token)[0].lower()
    assert convoy.writes() == []
    code, out, _ = bots.cli("workspaces", "list")
    assert f"{ALPHA}\t-\t{ALPHA}\tworkspace\t-\tuninstalled (state kept)" in out
    assert f"{BRAVO}\t-\t{BRAVO}\tworkspace\tTeam {BRAVO}" in out
    assert list(store.scan_iter(match=f"convoy-bot:ws:{ALPHA}:*")), "A's state was kept"

    code, out, err = bots.cli("workspaces", "purge", ALPHA)
    assert code == 0, err
    assert f"purged {ALPHA}" in out
    assert list(store.scan_iter(match=f"convoy-bot:ws:{ALPHA}:*")) == []
    assert list(store.scan_iter(match=f"convoy-bot:ws:{BRAVO}:*")), "B's state is B's"
    code, out, _ = bots.cli("workspaces", "list")
    assert ALPHA not in out
    code, _, err = bots.cli("projects", "list", "--workspace", ALPHA)
    assert code == 1
    assert "no workspace T0ALPHA has installed the bot" in err


def test_tokens_revoked_deletes_the_bot_token(
    many: Callable[..., ManyWorkspaces], slack: FakeSlack
) -> None:
    bots = many()
    bots.install(ALPHA, user_id=ALPHA_ADMIN)
    store = bots.store()
    assert store.exists(redis_keys.installation_bot(None, ALPHA))

    bots.sender(ALPHA).event(
        {"type": "tokens_revoked", "tokens": {"bot": ["UBOTT0ALPHA"]}, "event_ts": "1.0"}
    )

    _gone(bots, redis_keys.installation_bot(None, ALPHA), "the bot token")


def test_rotation_near_expiry_refreshes_once_across_replicas_and_loses_no_command(
    many: Callable[..., ManyWorkspaces],
    convoy: FakeConvoy,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack: FakeSlack,
) -> None:
    """A token an hour from expiry (inside the two hours it is refreshed ahead): a burst of
    commands on two replicas spends the one-use refresh token once, every command is
    answered, and the posts after carry the new token."""
    bots = many(replicas=2)
    bots.install(ALPHA, user_id=ALPHA_ADMIN, expires_in=3600)
    slack.add_channel(ALPHA_CHANNEL, team=ALPHA)
    bots.add_project(ALPHA, "alpha", convoy, convoy_fake[1].url)
    convoy.add_endpoint("orders-api")
    senders = [bots.sender(ALPHA, bot=bot) for bot in bots.bots]

    with ThreadPoolExecutor(8) as pool:
        sent = list(
            pool.map(
                lambda i: senders[i % 2].command(ALPHA_ADMIN, "paused", channel_id=ALPHA_CHANNEL),
                range(16),
            )
        )

    for each in sent:
        assert each.response.status_code == 200
        assert "reinstall" not in each.response.text.lower()
        assert reply_to(slack, each.token), "a command was dropped"
    assert slack.installs.refreshes == 1
    # No Slack call to authorize a request: the one auth.test is the install's own.
    assert len(slack.api_calls("auth.test")) == 1
    refused = [c for c in slack.api_calls("oauth.v2.access") if not c.accepted]
    assert refused == [], "a replica spent a refresh token already spent"
    senders[1].command(ALPHA_ADMIN, "pause orders-api", channel_id=ALPHA_CHANNEL)
    posted = eventually(lambda: _posts_in(slack, ALPHA_CHANNEL), what="the pause's post")
    grant = slack.installs.grant_of(posted[0].headers["authorization"].partition(" ")[2])
    assert grant is not None
    assert grant.expires_at is not None
    assert grant.expires_at > time.time() + 3 * 3600, "an old token was used"


def test_the_fake_slack_refuses_a_token_of_another_workspace(
    many: Callable[..., ManyWorkspaces], slack: FakeSlack
) -> None:
    bots = many()
    bots.install(ALPHA, user_id=ALPHA_ADMIN)
    bots.install(BRAVO, user_id=BRAVO_ADMIN)
    slack.add_channel(ALPHA_CHANNEL, team=ALPHA)
    tokens = {team: slack.installs.token_of(team) for team in (ALPHA, BRAVO)}

    def post(token: str) -> Any:
        return httpx.post(
            f"{bots.slack_url}/api/chat.postMessage",
            headers={"authorization": f"Bearer {token}"},
            json={"channel": ALPHA_CHANNEL, "text": "hello"},
        ).json()

    assert post(tokens[ALPHA])["ok"] is True
    assert post(tokens[BRAVO]) == {"ok": False, "error": "channel_not_found"}
    identity = httpx.post(
        f"{bots.slack_url}/api/auth.test", headers={"authorization": f"Bearer {tokens[BRAVO]}"}
    ).json()
    assert identity["team_id"] == BRAVO


@pytest.mark.single_node
def test_redis_down_is_said_as_redis_down_not_as_uninstalled(
    many: Callable[..., ManyWorkspaces],
    convoy: FakeConvoy,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack: FakeSlack,
) -> None:
    """With the installation store unreachable the command gets the bot's own message about
    Redis (not Bolt's "reinstall the app"), and nothing changes."""
    bots = many()
    bots.install(ALPHA, user_id=ALPHA_ADMIN)
    slack.add_channel(ALPHA_CHANNEL, team=ALPHA)
    bots.add_project(ALPHA, "alpha", convoy, convoy_fake[1].url)
    convoy.add_endpoint("orders-api")
    bots.redis_server.stop()

    sent = bots.sender(ALPHA).command(ALPHA_ADMIN, "pause orders-api", channel_id=ALPHA_CHANNEL)

    text = sent.response.text + " ".join(reply_to(slack, sent.token))
    assert "The access store (Redis) is unavailable" in text
    assert "reinstall" not in text.lower()
    assert convoy.writes() == []


def test_status_lists_the_workspaces_and_no_log_holds_a_token(
    many: Callable[..., ManyWorkspaces], convoy: FakeConvoy, slack: FakeSlack
) -> None:
    bots = many()
    bots.install(ALPHA, user_id=ALPHA_ADMIN, expires_in=3600)
    bots.install(BRAVO, user_id=BRAVO_ADMIN)
    bots.sender(ALPHA).command(ALPHA_ADMIN, "help")  # a refresh of A's token, logged

    status = httpx.get(f"{bots.bot.url}/status", timeout=10).json()

    assert set(status["workspaces"]) == {ALPHA, BRAVO}
    assert status["workspaces"][ALPHA]["installed"] is True
    assert "slack" not in status
    log = bots.bot.log()
    assert "refreshed the bot token of installation -:T0ALPHA" in log
    for secret in ("xoxb-", "xoxe-", CLIENT_SECRET):
        assert secret not in log
        assert secret not in json.dumps(status)


def test_the_cli_names_a_workspace_only_when_the_bot_serves_many(
    many: Callable[..., ManyWorkspaces], tmp_path: Path
) -> None:
    bots = many()
    bots.install(ALPHA, user_id=ALPHA_ADMIN)

    code, _, err = bots.cli("roles", "list")
    assert code == 1
    assert "this bot serves many workspaces: name one with --workspace" in err
    code, out, _ = bots.cli("roles", "list", "--workspace", ALPHA)
    assert code == 0
    assert f"{ALPHA_ADMIN}\t*\tadmin" in out
    code, out, _ = bots.cli("roles", "list", "--workspace", BRAVO)
    assert code == 1
    one = run_cli_here(
        {**clean_env(), "REDIS_URL": bots.redis_server.url},
        tmp_path,
        "roles",
        "list",
        "--workspace",
        ALPHA,
    )
    assert one.returncode == 1
    assert "--workspace is for a bot installed in many workspaces" in one.stderr


def test_forms_and_the_watch_s_cards_stay_in_their_workspace(
    many: Callable[..., ManyWorkspaces],
    convoy: FakeConvoy,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    second_convoy: tuple[FakeConvoy, str],
    slack: FakeSlack,
) -> None:
    """Each workspace's watch posts its cards in its own bound channel with its own token;
    B's pause form offers B's endpoints only, and A's form submitted from B changes nothing."""
    bots = many(CONVOY_BOT_WATCH_ENABLED="true", CONVOY_BOT_WATCH_INTERVAL="1s")
    bravo_convoy, _ = second_convoy
    bots.alpha_and_bravo((convoy, convoy_fake[1].url), second_convoy)
    alpha, bravo = bots.sender(ALPHA), bots.sender(BRAVO)
    orders = failing(convoy, "orders-api")
    billing = failing(bravo_convoy, "billing-api")
    alpha.command(ALPHA_ADMIN, "bind alpha", channel_id=ALPHA_CHANNEL)
    bravo.command(BRAVO_ADMIN, "bind bravo", channel_id=BRAVO_CHANNEL)

    def both_cards() -> list[SlackCall] | None:
        found = cards(slack)
        return (
            found
            if {c.payload["channel"] for c in found} >= {ALPHA_CHANNEL, BRAVO_CHANNEL}
            else None
        )

    found = eventually(both_cards, timeout=30, what="a card in each workspace's channel")
    for card in found:
        team = ALPHA if card.payload["channel"] == ALPHA_CHANNEL else BRAVO
        assert _team_of(slack, card) == team
        mine, theirs = (
            ("orders-api", "billing-api") if team == ALPHA else ("billing-api", "orders-api")
        )
        assert mine in card.text
        assert theirs not in card.text

    # B's form: B's endpoints only; A's own form, submitted from B, changes nothing.
    alpha.command(ALPHA_ADMIN, "pause", channel_id=ALPHA_CHANNEL)
    alpha_form = filled_form(slack)
    opening = bravo.command(BRAVO_ADMIN, "pause", channel_id=BRAVO_CHANNEL)
    assert opening.response.text == ""
    bravo_form = filled_form(slack, 2)
    offered = bravo.suggest(BRAVO_ADMIN, bravo_form, ids.ENDPOINT_BLOCK, "api")
    assert [o["text"]["text"] for o in offered["options"]] == ["billing-api (active)"]
    alpha_options = alpha.suggest(ALPHA_ADMIN, alpha_form, ids.ENDPOINT_BLOCK, "orders")
    (orders_option,) = alpha_options["options"]
    forged = bravo.submit(
        BRAVO_ADMIN,
        alpha_form,
        {ids.ENDPOINT_BLOCK: orders_option, ids.REASON_BLOCK: "from B", ids.DURATION_BLOCK: ""},
    )
    assert forged.response.status_code == 200
    wait_until_idle(bots.bot.url)
    assert convoy.writes() == [], "B's submission changed A's endpoint"
    assert bravo_convoy.writes() == []
    assert convoy.endpoint(orders)["status"] == "active"
    assert bravo_convoy.endpoint(billing)["status"] == "active"


def test_an_install_with_a_wrong_state_or_a_spent_code_stores_nothing(
    many: Callable[..., ManyWorkspaces], slack: FakeSlack, tmp_path: Path
) -> None:
    bots = many()
    with httpx.Client(base_url=bots.bot.url, timeout=10) as browser:
        to_slack = browser.get("/slack/install")
        cookie = to_slack.headers["set-cookie"].split(";")[0]
        code = slack.installs.approve(ALPHA, user_id=ALPHA_ADMIN)
        forged = browser.get(
            "/slack/oauth_redirect",
            params={"code": code, "state": "not-the-one-issued"},
            headers={"cookie": cookie},
        )
    assert forged.status_code == 400
    assert not list(bots.store().scan_iter(match="convoy-bot:install:*"))
    assert slack.api_calls("oauth.v2.access") == [], "a forged state reached Slack"

    # A code already exchanged (a reload of the redirect, a replay): Slack refuses it, the
    # bot shows its failure page, and the one installation made stays the only one.
    with httpx.Client(base_url=bots.bot.url, timeout=10) as browser:
        first = browser.get("/slack/install")
        state = parse_qs(urlsplit(first.headers["location"]).query)["state"][0]
        cookie = first.headers["set-cookie"].split(";")[0]
        code = slack.installs.approve(ALPHA, user_id=ALPHA_ADMIN)
        done = browser.get(
            "/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"cookie": cookie},
        )
        again = browser.get("/slack/install")
        state = parse_qs(urlsplit(again.headers["location"]).query)["state"][0]
        cookie = again.headers["set-cookie"].split(";")[0]
        replayed = browser.get(
            "/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"cookie": cookie},
        )
    assert done.status_code == 200
    assert replayed.status_code == 401  # Bolt's failure page for a refused exchange
    assert "Something Went Wrong" in replayed.text
    assert [c.answer.get("error") for c in slack.api_calls("oauth.v2.access")] == [
        None,
        "invalid_code",
    ]
    code_, listed, _ = bots.cli("workspaces", "list")
    assert code_ == 0
    assert [row for row in listed.splitlines() if row.startswith(f"{ALPHA}\t")] != []
    assert len(listed.splitlines()) == 2, "one installation (and the header)"

    one = run_cli_here(
        {**clean_env(), "REDIS_URL": bots.redis_server.url}, tmp_path, "workspaces", "list"
    )
    assert one.returncode == 2
    assert "this bot serves one workspace" in one.stderr
