"""Many Convoy projects in one bot, each channel bound to its project (issue "Teams in their
channels").

Two fake Convoy instances on loopback hold three projects between them, each taking the
project from a project API key as Convoy does:

- `payments`: PROJECT on the first instance (the CONVOY_* variables' project);
- `billing`: BILLING on the first instance (stored with `convoy-bot projects add`);
- `eu`: PROJECT again, on the second instance: the same project id somewhere else.

Each test runs its own bot on a Redis of its own, with the stored projects added by the CLI.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot import redis_keys
from bot.access.roles import Role, RoleStore
from bot.approvals.store import ApprovalStore, NewRequest
from bot.change.holds import new_hold
from bot.clock import SharedClock
from bot.keybox import KeyBox
from bot.models import Action
from bot.project import Project
from bot.projects.store import ProjectStore
from bot.store import redis_client
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.loopback import LoopbackServer, free_port
from tests.fakes.slack import DEFAULT_CHANNEL, FakeSlack, SlackCall
from tests.harness import (
    ADMIN,
    CONVOY_KEY,
    PROJECT,
    BotProcess,
    bot_env,
    eventually,
    project_scope,
    run_cli_here,
    start_bot,
    start_redis,
    wait_until_idle,
)
from tests.helpers import (
    across_shards,
    button,
    buttons,
    convoy_receives,
    filled_form,
    message,
    post_with,
    reply_to,
    view_text,
)
from tests.projects import old_layout
from tests.redis_cluster import TestRedis, start_test_redis
from tests.slack_requests import SlackSender

BILLING = "01HPROJECTBILLING000000000"
BILLING_KEY = "billing-project-key-0123456789"
EU_KEY = "eu-project-key-9876543210"
PAYMENTS_CHANNEL = "C0PAYMENTS"
BILLING_CHANNEL = "C0BILLING"
OPERATOR = "U0GLOBALOP"  # operator in every project
PAY_OPERATOR = "U0PAYOP"  # operator in payments only
PAY_ADMIN = "U0PAYADMIN"  # admin in payments only
BILLING_ADMIN = "U0BILLADMIN"  # admin in billing only
NOBODY = "U0NOROLE"  # no role anywhere
REQUESTER = "U0ASKS"
APPROVER = "U0DECIDES"


@pytest.fixture(scope="module")
def eu_fake() -> Iterator[tuple[FakeConvoy, LoopbackServer]]:
    """The second Convoy instance, holding a project with the same id as payments'."""
    fake = FakeConvoy(project_id=PROJECT, api_key=EU_KEY)
    server = LoopbackServer(fake.app).start()
    yield fake, server
    server.stop()


@pytest.fixture
def eu(eu_fake: tuple[FakeConvoy, LoopbackServer]) -> Iterator[FakeConvoy]:
    fake = eu_fake[0]
    fake.reset()
    yield fake
    assert fake.contract_errors == [], "a request or response broke Convoy's OpenAPI spec"


@dataclass
class Teams:
    """A bot serving three projects, on its own Redis, and a way to run its CLI."""

    tmp: Path
    env: dict[str, str]
    server: TestRedis
    convoy_url: str
    eu_url: str
    sender_to: Callable[[BotProcess], SlackSender]
    bots: list[BotProcess] = field(default_factory=list)
    _sender: SlackSender | None = None

    def cli(self, *args: str, **extra_env: str) -> Any:
        """The CLI's `main`, run in this process (tests/compose/test_cli.py runs it as its
        own process, as a user does)."""
        return run_cli_here({**self.env, **extra_env}, self.tmp, *args)

    def set_up(self, *args: str, **extra_env: str) -> None:
        done = self.cli(*args, **extra_env)
        assert done.returncode == 0, done.stderr

    def add(self, alias: str, url: str, project_id: str, key: str, *more: str) -> None:
        variable = f"KEY_OF_{alias.upper()}"
        self.set_up(
            "projects", "add", alias, "--api-url", f"{url}/api", "--project-id", project_id,
            "--api-key-env", variable, *more, **{variable: key},
        )  # fmt: skip

    def grant(self, user: str, role: str, project: str = "*") -> None:
        self.set_up("roles", "grant", user, role, "--project", project)

    def start(self, **overrides: str) -> SlackSender:
        env = {**self.env, "PORT": str(free_port()), **overrides}
        self.bots.append(start_bot(env, self.tmp / f"bot{len(self.bots)}"))
        self._sender = self.sender_to(self.bots[-1])
        return self._sender

    @property
    def bot(self) -> BotProcess:
        return self.bots[-1]

    @property
    def sender(self) -> SlackSender:
        assert self._sender is not None, "start the bot first"
        return self._sender

    def client(self) -> redis.Redis | redis.RedisCluster:
        return self.server.client()


@pytest.fixture
def teams(
    tmp_path: Path,
    convoy: FakeConvoy,
    eu: FakeConvoy,
    slack: FakeSlack,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    eu_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
    sender_to: Callable[[BotProcess], SlackSender],
) -> Iterator[Teams]:
    """payments (from the environment), billing and eu (stored), before the bot starts."""
    server = start_test_redis(tmp_path / "redis")
    env = bot_env(convoy_fake[1].url, slack_fake[1].url, server.url, free_port())
    env.update(
        {
            "CONVOY_PROJECT_ALIAS": "payments",
            "CONVOY_BOT_SECRET_KEY": Fernet.generate_key().decode(),
            "CONVOY_BOT_MOVABLE_CLOCK": "true",
        }
    )
    convoy.add_project(BILLING, BILLING_KEY)
    for channel in (PAYMENTS_CHANNEL, BILLING_CHANNEL):
        slack.add_channel(channel)
    made = Teams(tmp_path, env, server, convoy_fake[1].url, eu_fake[1].url, sender_to)
    made.add("billing", made.convoy_url, BILLING, BILLING_KEY)
    made.add("eu", made.eu_url, PROJECT, EU_KEY)
    made.grant(OPERATOR, "operator")
    yield made
    for bot in made.bots:
        bot.stop()
    server.stop()


def writes_of(fake: FakeConvoy) -> list[tuple[str, str | None, str | None]]:
    """What a Convoy instance was asked to change: (operation, endpoint uid, project acted on)."""
    return [(r.operation, r.endpoint_uid, r.project) for r in fake.writes()]


def written(fake: FakeConvoy, count: int) -> None:
    """Wait until a Convoy instance has taken and applied `count` writes (a change the bot
    announces in the channel has no private reply beyond the command's acknowledgement)."""
    eventually(
        lambda: len([w for w in fake.writes() if w.answered.is_set()]) >= count,
        what=f"{count} write(s) applied",
    )


def project_buttons(call: SlackCall) -> dict[str, dict[str, Any]]:
    """The project question's buttons by label."""
    return {b["text"]["text"]: b for b in buttons(call)}


def bind(teams: Teams, slack: FakeSlack, user: str, channel: str, alias: str) -> str:
    sent = teams.sender.command(user, f"bind {alias}", channel_id=channel)
    return reply_to(slack, sent.token)[0]


# --- 1. binding ---


def test_a_bound_channel_acts_on_its_project_and_project_picks_another(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    """`/convoy pause orders-api` in a channel bound to payments pauses payments' orders-api,
    never billing's endpoint of the same name; `--project billing` there pauses billing's."""
    ours = str(convoy.add_endpoint("orders-api")["uid"])
    theirs = str(convoy.add_endpoint("orders-api", project=BILLING)["uid"])
    sender = teams.start()
    assert "now acts on project `payments`" in bind(
        teams, slack, ADMIN, PAYMENTS_CHANNEL, "payments"
    )

    sender.command(OPERATOR, "pause orders-api deploy broke it", channel_id=PAYMENTS_CHANNEL)
    written(convoy, 1)
    sender.command(
        OPERATOR, "pause --project billing orders-api their turn", channel_id=PAYMENTS_CHANNEL
    )
    written(convoy, 2)
    sender.command(OPERATOR, "resume orders-api -p billing", channel_id=PAYMENTS_CHANNEL)
    written(convoy, 3)

    assert writes_of(convoy) == [
        ("pause", ours, PROJECT),
        ("pause", theirs, BILLING),
        ("activate", theirs, BILLING),
    ]
    assert convoy.endpoint(ours)["status"] == "paused"
    assert convoy.endpoint(theirs)["status"] == "active"
    billing_post = post_with(slack, "their turn")
    assert "billing" in billing_post.text, "with several projects, every message names its own"


# --- 2. an unbound channel with several projects ---


def test_an_unbound_channel_with_several_projects_asks_privately_and_changes_nothing(
    teams: Teams, convoy: FakeConvoy, eu: FakeConvoy, slack: FakeSlack
) -> None:
    """A private question with a button per project; nothing is written until one is
    clicked; the click runs the typed command there and leaves the channel unbound."""
    theirs = str(convoy.add_endpoint("orders-api", project=BILLING)["uid"])
    convoy.add_endpoint("orders-api")
    eu.add_endpoint("orders-api")
    sender = teams.start()

    sent = sender.command(OPERATOR, "pause orders-api for 30m card declines")
    (question,) = eventually(lambda: slack.replies(sent.token), what="the project question")
    offered = project_buttons(question)

    assert sorted(offered) == ["billing", "eu", "payments"]
    assert question.payload.get("response_type") == "ephemeral"
    assert "Nothing changes until you pick one" in question.text
    assert "`/convoy bind <alias>`" in question.text
    assert writes_of(convoy) == []
    assert writes_of(eu) == []
    assert slack.api_calls("chat.postMessage") == [], "nothing was said in the channel"

    picked = offered["billing"]
    click = sender.click(OPERATOR, picked["action_id"], picked["value"])
    eventually(convoy.writes, what="the pause")
    again = sender.click(OPERATOR, picked["action_id"], picked["value"])

    assert "already answered" in reply_to(slack, again.token)[0]
    assert writes_of(convoy) == [("pause", theirs, BILLING)]
    assert writes_of(eu) == []
    assert "card declines" in post_with(slack, "card declines").text
    assert teams.client().hget(redis_keys.bindings(), DEFAULT_CHANNEL) is None, "still unbound"
    assert slack.replies(click.token), "the clicker heard what ran where"


# --- 3. roles per project, and who may bind ---


def test_a_role_in_one_project_gives_nothing_in_another_and_binding_needs_its_admin(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    ours = str(convoy.add_endpoint("orders-api")["uid"])
    convoy.add_endpoint("orders-api", project=BILLING)
    teams.grant(PAY_OPERATOR, "operator", "payments")
    teams.grant(PAY_ADMIN, "admin", PROJECT)  # a Convoy project id names it as well as its alias
    sender = teams.start()

    elsewhere = sender.command(PAY_OPERATOR, "pause orders-api -p billing")
    sender.command(PAY_OPERATOR, "pause orders-api -p payments")
    written(convoy, 1)
    refused_bind = bind(teams, slack, PAY_ADMIN, BILLING_CHANNEL, "billing")
    operator_bind = bind(teams, slack, PAY_OPERATOR, PAYMENTS_CHANNEL, "payments")
    admin_bind = bind(teams, slack, PAY_ADMIN, PAYMENTS_CHANNEL, "payments")
    unbind = sender.command(PAY_OPERATOR, "unbind", channel_id=PAYMENTS_CHANNEL)

    refused = reply_to(slack, elsewhere.token)[0]
    assert "role in project billing; you have no role yet" in refused
    assert writes_of(convoy) == [("pause", ours, PROJECT)]
    assert "needs the *admin* role there" in refused_bind
    assert "needs the *admin* role there" in operator_bind
    assert "now acts on project `payments`" in admin_bind
    assert "needs the *admin* role there" in reply_to(slack, unbind.token)[0]
    assert teams.client().hgetall(redis_keys.bindings()) == {
        PAYMENTS_CHANNEL: project_scope(teams.convoy_url)
    }


# --- 4. a key of another project ---


def test_a_key_of_another_project_is_refused_on_add_at_start_and_on_every_command(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    """Convoy acts on a project key's own project whatever id the path names: the bot asks
    which project a key serves and never lets a mismatched pairing act."""
    convoy.add_endpoint("orders-api")
    convoy.add_endpoint("orders-api", project=BILLING)
    wrong = teams.cli(
        "projects", "add", "wrong", "--api-url", f"{teams.convoy_url}/api",
        "--project-id", BILLING, "--api-key-env", "PAYMENTS_KEY", PAYMENTS_KEY=CONVOY_KEY,
    )  # fmt: skip
    assert wrong.returncode == 1
    assert f"belongs to Convoy project {PROJECT}, not {BILLING}" in wrong.stderr
    assert "Nothing was stored" in wrong.stderr
    assert teams.client().hget(redis_keys.projects(), "wrong") is None
    # A mismatched project stored some other way (by hand, or before its key was changed).
    asyncio.run(_store_directly(teams, "sneaky", BILLING, CONVOY_KEY))
    sender = teams.start()

    eventually(lambda: "project sneaky: its API key belongs to Convoy project" in teams.bot.log())
    sent = sender.command(OPERATOR, "pause orders-api -p sneaky")
    status = httpx.get(f"{teams.bot.url}/status", timeout=10).json()
    checked = teams.cli("projects", "check")

    assert "another project" in reply_to(slack, sent.token)[0]
    assert "Nothing was changed" in reply_to(slack, sent.token)[0]
    assert writes_of(convoy) == []
    assert status["convoy"]["sneaky"].startswith("its API key belongs to Convoy project")
    assert status["convoy"]["billing"] == "ok"
    assert checked.returncode == 1
    lines = dict(line.split("\t", 1) for line in checked.stdout.splitlines())
    assert lines["payments"] == lines["billing"] == lines["eu"] == "ok"
    assert f"belongs to Convoy project {PROJECT}, not {BILLING}" in lines["sneaky"]


async def _store_directly(teams: Teams, alias: str, project_id: str, key: str) -> None:
    client = redis_client(teams.server.url)
    try:
        box = KeyBox([SecretStr(teams.env["CONVOY_BOT_SECRET_KEY"])])
        project = Project(alias=alias, api_url=f"{teams.convoy_url}/api", project_id=project_id)
        await ProjectStore(client, box).add(project, SecretStr(key))
    finally:
        await client.aclose()


# --- 5. keys encrypted at rest ---


def every_byte_in(client: redis.Redis | redis.RedisCluster) -> str:
    """Every key and value of a Redis, as text, whatever their types."""
    found = []
    for key in client.scan_iter(count=1000):
        match str(client.type(key)):
            case "string":
                value: object = client.get(key)
            case "hash":
                value = client.hgetall(key)
            case "set":
                value = client.smembers(key)
            case "zset":
                value = client.zrange(key, 0, -1, withscores=True)
            case "list":
                value = client.lrange(key, 0, -1)
            case "none":
                continue  # expired between SCAN and TYPE (a lock, a short-lived claim)
            case kind:
                assert kind == "stream", kind
                value = client.xrange(key)
        found.append(f"{key} {value}")
    return "\n".join(found)


def test_api_keys_are_encrypted_at_rest_a_wrong_secret_key_stops_start_up_and_keys_rotate(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    bill = str(convoy.add_endpoint("invoices", project=BILLING)["uid"])
    sender = teams.start()
    sender.command(OPERATOR, "pause invoices -p billing")
    written(convoy, 1)
    post_with(slack, "invoices")
    dump = every_byte_in(teams.client())
    shown = teams.bot.log() + httpx.get(f"{teams.bot.url}/metrics", timeout=5).text
    listed = teams.cli("projects", "list")
    exported = teams.cli("projects", "export")
    teams.bot.stop()

    assert "billing" in dump
    assert BILLING in dump
    for key in (BILLING_KEY, EU_KEY, CONVOY_KEY):
        assert key not in dump, "an API key is in Redis as it is"
        assert key not in shown + listed.stdout + exported.stdout + json.dumps(
            [c.payload for c in slack.calls]
        )

    wrong = teams.cli("serve", CONVOY_BOT_SECRET_KEY=Fernet.generate_key().decode())
    assert wrong.returncode == 2
    assert len(wrong.stderr.strip().splitlines()) == 1
    assert "CONVOY_BOT_SECRET_KEY cannot decrypt the API key of project" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    # Rotation: the new key first (it encrypts), the old one after it (it still decrypts).
    old, new = teams.env["CONVOY_BOT_SECRET_KEY"], Fernet.generate_key().decode()
    teams.env["CONVOY_BOT_SECRET_KEY"] = f"{new},{old}"
    sender = teams.start()
    sender.command(OPERATOR, "resume invoices -p billing")
    written(convoy, 2)
    teams.add("billing", teams.convoy_url, BILLING, BILLING_KEY)  # stored again: under `new`
    teams.add("eu", teams.eu_url, PROJECT, EU_KEY)
    teams.bot.stop()
    teams.env["CONVOY_BOT_SECRET_KEY"] = new
    sender = teams.start()
    sender.command(OPERATOR, "pause invoices -p billing")
    written(convoy, 3)

    assert writes_of(convoy) == [
        ("pause", bill, BILLING),
        ("activate", bill, BILLING),
        ("pause", bill, BILLING),
    ]


# --- 6. the owning team hears of changes made elsewhere ---


def in_channel(slack: FakeSlack, method: str, channel: str = PAYMENTS_CHANNEL) -> list[SlackCall]:
    return [c for c in slack.api_calls(method) if c.payload["channel"] == channel]


def test_a_change_made_elsewhere_is_copied_once_to_the_bound_channel(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    sender = teams.start()
    bind(teams, slack, ADMIN, PAYMENTS_CHANNEL, "payments")

    sender.command(OPERATOR, "pause orders-api -p payments incident 2041")
    original = post_with(slack, "incident 2041")
    copy = eventually(lambda: in_channel(slack, "chat.postMessage"), what="the bound copy")

    assert original.payload["channel"] == DEFAULT_CHANNEL
    assert len(copy) == 1, "told once in the bound channel"
    assert "incident 2041" in copy[0].text
    assert "actions" not in json.dumps(copy[0].payload["blocks"]), "a copy has no buttons"
    assert f"archives/{DEFAULT_CHANNEL}/p" in copy[0].text, "it links to where it was made"
    assert f"<#{DEFAULT_CHANNEL}>" in copy[0].text

    resume = button(original, ids.RESUME_BUTTON)
    sender.click(OPERATOR, ids.RESUME_BUTTON, resume["value"], message=message(original))
    written(convoy, 2)
    updated = eventually(lambda: in_channel(slack, "chat.update"), what="the copy updated")
    assert f"Resumed by <@{OPERATOR}>" in updated[-1].text
    assert convoy.endpoint(uid)["status"] == "active"

    # Made in the bound channel itself: told there once, no copy.
    before = len(slack.api_calls("chat.postMessage"))
    sender.command(OPERATOR, "pause orders-api again", channel_id=PAYMENTS_CHANNEL)
    post_with(slack, "again")
    assert len(slack.api_calls("chat.postMessage")) == before + 1

    # Unbound, the channel hears no copy of the very next change.
    unbind = sender.command(ADMIN, "unbind", channel_id=PAYMENTS_CHANNEL)
    assert "payments" in reply_to(slack, unbind.token)[0]
    copies = len(in_channel(slack, "chat.postMessage"))
    sender.command(OPERATOR, "resume orders-api -p payments after the unbind")
    post_with(slack, "after the unbind")
    journal = redis_keys.in_flight(project_scope(teams.convoy_url), uid)
    eventually(lambda: not teams.client().exists(journal), what="the change told")
    assert len(in_channel(slack, "chat.postMessage")) == copies


# --- 7. the same uid in two projects ---


def test_timers_and_approvals_in_two_projects_with_the_same_uid_stay_apart(
    teams: Teams, convoy: FakeConvoy, eu: FakeConvoy, slack: FakeSlack
) -> None:
    """payments and eu share a project id and an endpoint uid (on two instances): their
    pauses, timers and approval requests never meet."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    eu.add_endpoint("orders-api", uid=uid)
    other = str(convoy.add_endpoint("ledger")["uid"])
    eu.add_endpoint("ledger", uid=other)
    teams.grant(REQUESTER, "requester")
    teams.grant(APPROVER, "approver")
    sender = teams.start()

    sender.command(OPERATOR, f"pause {uid} -p payments for 30m")
    sender.command(OPERATOR, f"pause {uid} -p eu for 2h")
    ask_pay = sender.command(REQUESTER, f"pause {other} -p payments please")
    ask_eu = sender.command(REQUESTER, f"pause {other} -p eu please")
    for sent in (ask_pay, ask_eu):
        reply_to(slack, sent.token)
    written(convoy, 1)
    written(eu, 1)
    requests = [c for c in slack.api_calls("chat.postMessage") if find_approve(c)]
    client = teams.client()

    assert len(requests) == 2, "two requests: neither project saw the other's as open"
    # A pause's hold is booked just after its write: wait for both, not a moment less.
    eventually(lambda: len(across_shards(client, redis_keys.holds_index)) == 2, what="two holds")
    assert len(across_shards(client, redis_keys.resume_timers)) == 2

    eu_request = next(c for c in requests if "eu" in c.text)
    approve = find_approve(eu_request)
    assert approve is not None
    decided = sender.click(
        APPROVER, ids.APPROVE_BUTTON, approve["value"], message=message(eu_request)
    )
    reply_to(slack, decided.token)
    client.set(redis_keys.clock_offset(), timedelta(minutes=31).total_seconds())
    eventually(lambda: convoy.endpoint(uid)["status"] == "active", what="payments' auto-resume")

    assert writes_of(convoy) == [("pause", uid, PROJECT), ("activate", uid, PROJECT)]
    assert writes_of(eu) == [("pause", uid, PROJECT), ("pause", other, PROJECT)]
    assert eu.endpoint(uid)["status"] == "paused", "eu's two-hour pause runs on"
    eventually(
        lambda: len(across_shards(client, redis_keys.resume_timers)) == 1, what="eu's timer alone"
    )


def find_approve(call: SlackCall) -> dict[str, Any] | None:
    for block in call.payload.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("action_id") == ids.APPROVE_BUTTON:
                return dict(element)
    return None


# --- 8. aliases, webhook detail, binding where the bot is not, export and import ---


def test_two_aliases_of_one_project_share_one_lock(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    """`pay2` is payments again (same URL and id): two pauses at once through both → one PUT."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    teams.add("pay2", teams.convoy_url, PROJECT, CONVOY_KEY)
    sender = teams.start()
    convoy.set_fault("get", delay=0.6, times=1)  # the first holds the lock a while

    with convoy_receives(convoy, "get", what="the first read"):
        first = sender.command(OPERATOR, f"pause {uid} -p payments")
    second = sender.command(OPERATOR, f"pause {uid} -p pay2")
    answers = reply_to(slack, second.token)[0]
    post_with(slack, "paused")  # told once Convoy has applied it (the fake records it first)
    del first

    assert writes_of(convoy) == [("pause", uid, PROJECT)]
    assert "right now. No change was made" in answers
    assert convoy.endpoint(uid)["status"] == "paused"


def test_webhook_detail_status_and_off_are_respected(
    teams: Teams, convoy: FakeConvoy, eu: FakeConvoy, slack: FakeSlack
) -> None:
    hook = f"{slack.url}/hooks/T0/B0/customer"
    convoy.add_endpoint("invoices", project=BILLING, slack_webhook_url=hook)
    eu.add_endpoint("orders-eu", slack_webhook_url=hook)
    teams.add("billing", teams.convoy_url, BILLING, BILLING_KEY, "--webhook-detail", "status")
    teams.add("eu", teams.eu_url, PROJECT, EU_KEY, "--webhook-detail", "off")
    sender = teams.start()

    sender.command(OPERATOR, "pause invoices -p billing chargeback storm from acme")
    told = post_with(slack, "chargeback storm")
    sender.command(OPERATOR, "pause orders-eu -p eu secret customer trouble")
    silent = post_with(slack, "secret customer trouble")

    (webhook,) = slack.webhooks()
    assert "invoices" in webhook.text
    assert "paused" in webhook.text
    assert "chargeback" not in webhook.text, "status only: no reason"
    assert OPERATOR not in webhook.text, "status only: no names"
    assert "billing" not in webhook.text, "status only: not even the project's alias"
    assert "Posted to the endpoint's Slack webhook." in told.text
    assert "does not post to endpoints' webhooks" in silent.text


def test_bind_is_refused_where_the_bot_is_not_a_member(teams: Teams, slack: FakeSlack) -> None:
    slack.add_channel("C0PRIVATE", bot_member=False)
    teams.start()

    answer = bind(teams, slack, ADMIN, "C0PRIVATE", "billing")

    assert "I am not a member of this channel" in answer
    assert "/invite @Convoy" in answer
    assert "Nothing was changed" in answer
    assert teams.client().hgetall(redis_keys.bindings()) == {}


def test_export_then_import_on_an_empty_redis_restores_the_projects(teams: Teams) -> None:
    teams.add("status-only", teams.eu_url, PROJECT, EU_KEY, "--webhook-detail", "status")
    before = teams.cli("projects", "list").stdout
    exported = teams.cli("projects", "export")
    file = teams.tmp / "projects.json"
    file.write_text(exported.stdout)
    teams.client().flushall()

    missing = teams.cli("projects", "import", str(file))
    keys = {"KEY_OF_BILLING": BILLING_KEY, "KEY_OF_EU": EU_KEY, "KEY_OF_STATUS-ONLY": EU_KEY}
    imported = teams.cli("projects", "import", str(file), **keys)
    after = teams.cli("projects", "list").stdout

    data = json.loads(exported.stdout)
    assert [p["alias"] for p in data["projects"]] == ["payments", "billing", "eu", "status-only"]
    assert data["projects"][1] == {
        "alias": "billing",
        "api_url": f"{teams.convoy_url}/api",
        "project_id": BILLING,
        "webhook_detail": "full",
        "api_key_env": "KEY_OF_BILLING",
    }
    assert "key_token" not in exported.stdout
    assert BILLING_KEY not in exported.stdout
    assert missing.returncode == 1
    assert "KEY_OF_BILLING" in missing.stderr
    assert imported.returncode == 0, imported.stderr
    assert "imported 3 project(s): billing, eu, status-only" in imported.stdout
    assert after == before


def test_projects_list_names_no_key_and_remove_is_refused_while_pauses_are_held(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    convoy.add_endpoint("invoices", project=BILLING)
    sender = teams.start()
    bind(teams, slack, ADMIN, BILLING_CHANNEL, "billing")
    sender.command(OPERATOR, "pause invoices -p billing for 1h")
    written(convoy, 1)
    assert wait_until_idle(teams.bot.url), "the pause booked as a hold"

    listed = teams.cli("projects", "list")
    refused = teams.cli("projects", "remove", "billing")
    sender.command(OPERATOR, "resume invoices -p billing")
    written(convoy, 2)
    assert wait_until_idle(teams.bot.url), "the resume told, its write journal closed"
    removed = teams.cli("projects", "remove", "billing")

    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert rows[0] == ["ALIAS", "PROJECT ID", "API URL", "WEBHOOK", "KEY", "CHANNELS"]
    assert rows[1][:5] == ["payments", PROJECT, f"{teams.convoy_url}/api", "full", "CONVOY_API_KEY"]
    assert rows[2] == [
        "billing",
        BILLING,
        f"{teams.convoy_url}/api",
        "full",
        "stored, encrypted",
        BILLING_CHANNEL,
    ]
    assert refused.returncode == 1
    assert "still has 1 pause(s) the bot holds: invoices (auto-resume due)" in refused.stderr
    assert removed.returncode == 0, removed.stderr
    assert f"unbound {BILLING_CHANNEL}" in removed.stdout
    assert teams.client().hget(redis_keys.projects(), "billing") is None


# --- 9. upgrading a single-project Redis ---


@pytest.mark.single_node  # the layout before projects predates clusters
def test_a_single_project_redis_keeps_working_after_the_upgrade(
    tmp_path: Path,
    convoy: FakeConvoy,
    slack: FakeSlack,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    """Roles, a timed pause and an open request written under the bare project id (as the
    bot serving one project wrote them) work after the bot starts in the new layout."""
    held = str(convoy.add_endpoint("orders-api", status="paused")["uid"])
    asked = str(convoy.add_endpoint("ledger")["uid"])
    fresh = str(convoy.add_endpoint("search")["uid"])
    server = start_redis(tmp_path / "redis")
    request_id = asyncio.run(_write_single_project_layout(server.url, held, asked))
    env = bot_env(convoy_fake[1].url, slack_fake[1].url, server.url, free_port())
    env["CONVOY_BOT_MOVABLE_CLOCK"] = "true"
    bot = start_bot(env, tmp_path / "bot")
    sender = sender_to(bot)
    try:
        listed = sender.command("U0OLDVIEW", "paused")
        paused_text = reply_to(slack, listed.token)[0]
        sender.command("U0OLDOP", f"pause {fresh}")
        written(convoy, 1)
        # The request's button as the old bot posted it: a bare request id.
        approve = sender.click("U0OLDAPPROVER", ids.APPROVE_BUTTON, request_id)
        reply_to(slack, approve.token)
        server.client().set(redis_keys.clock_offset(), timedelta(minutes=45).total_seconds())
        eventually(lambda: convoy.endpoint(held)["status"] == "active", what="the old timer")
        client = server.client()
        leftovers = [k for k in client.scan_iter() if f"{{{PROJECT}:" in k]
    finally:
        bot.stop()
        server.stop()

    assert "orders-api" in paused_text
    assert [(w.operation, w.endpoint_uid) for w in convoy.writes()] == [
        ("pause", fresh),
        ("pause", asked),
        ("activate", held),
    ]
    assert leftovers == [], "every key of the old layout was moved"
    # Three roles, the hold, its index entry, its timer and reminder, the request and its
    # open-request pointer; then into shards: the hold and its three indexes.
    assert "moved 13 records" in bot.log()


async def _write_single_project_layout(url: str, held: str, asked: str) -> str:
    """What the bot serving one project kept: everything keyed by the bare project id."""
    client = redis_client(url)
    clock = SharedClock(client)
    try:
        await clock.sync()
        roles = RoleStore(client, [])
        await roles.grant("U0OLDVIEW", Role.VIEWER, PROJECT)
        await roles.grant("U0OLDOP", Role.OPERATOR, PROJECT)
        await roles.grant("U0OLDAPPROVER", Role.APPROVER, PROJECT)
        now = datetime.now(UTC)
        assert isinstance(client, aioredis.Redis)  # single_node
        hold = new_hold(
            project=PROJECT, uid=held, name="orders-api", actor="U0OLDOP", reason="old",
            paused_at=now, duration=timedelta(minutes=30), channel_id=DEFAULT_CHANNEL,
        )  # fmt: skip
        await old_layout.write_hold(client, hold, now, timedelta(minutes=5))
        approvals = ApprovalStore(client, timedelta(minutes=30), timedelta(seconds=60))
        request = await approvals.create(
            NewRequest(
                project=PROJECT, endpoint_uid=asked, endpoint_name="ledger",
                endpoint_status="active", action=Action.PAUSE, requester="U0OLDASKER",
                reason="asked before the upgrade", channel_id=DEFAULT_CHANNEL,
            ),
            now,
        )  # fmt: skip
        return request.id
    finally:
        await client.aclose()


# --- what a channel acts on, said aloud ---


def test_projects_help_and_audit_say_which_project_a_channel_acts_on(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    """`/convoy projects` lists what the caller can see and the channel's binding; help
    names the channel's project and the caller's role there; audit in a bound channel shows
    that project's entries only; unbind says what it undid."""
    convoy.add_endpoint("orders-api")
    convoy.add_endpoint("invoices", project=BILLING)
    teams.grant(PAY_OPERATOR, "operator", "payments")
    sender = teams.start()
    bind(teams, slack, ADMIN, PAYMENTS_CHANNEL, "payments")
    sender.command(OPERATOR, "pause orders-api -p payments ours")
    sender.command(OPERATOR, "pause invoices -p billing theirs")
    written(convoy, 2)

    def said(user: str, text: str, channel: str = PAYMENTS_CHANNEL) -> str:
        return reply_to(slack, sender.command(user, text, channel_id=channel).token)[0]

    mine = said(PAY_OPERATOR, "projects")
    everything = said(ADMIN, "projects", DEFAULT_CHANNEL)
    helped = said(PAY_OPERATOR, "help")
    unbound_help = said(PAY_OPERATOR, "help", DEFAULT_CHANNEL)
    audit = said(ADMIN, "audit")
    undone = said(ADMIN, "unbind")
    nothing = said(ADMIN, "unbind")

    assert "*Projects* (1)" in mine
    assert "`payments`" in mine
    assert "`billing`" not in mine
    assert f"<#{PAYMENTS_CHANNEL}> acts on `payments`." in mine
    assert "*Projects* (3)" in everything
    assert f"your role: *admin*; <#{PAYMENTS_CHANNEL}>" in everything
    assert f"<#{DEFAULT_CHANNEL}> is not bound to a project" in everything
    assert "This channel acts on project `payments`. Your role there: *operator*." in helped
    assert "not bound to a project, and the bot serves several" in unbound_help
    assert "pause *orders-api* → *paused*" in audit
    assert "invoices" not in audit, "another project's entries stay out of this channel's audit"
    assert f"<#{PAYMENTS_CHANNEL}> no longer acts on project `payments`" in undone
    assert f"<#{PAYMENTS_CHANNEL}> was not bound to a project" in nothing
    assert teams.client().hgetall(redis_keys.bindings()) == {}


def test_the_projects_cli_refuses_what_it_cannot_do_with_one_clear_line(teams: Teams) -> None:
    made = teams.cli("projects", "new-secret-key").stdout.strip()
    Fernet(made.encode())  # a key Fernet takes
    typed = subprocess.run(
        [sys.executable, "-m", "bot", "projects", "add", "typed", "--api-url",
         f"{teams.convoy_url}/api", "--project-id", BILLING],
        input=f"{BILLING_KEY}\n", env=teams.env, cwd=teams.tmp, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    no_secret = teams.cli(
        "projects", "add", "x", "--api-url", f"{teams.convoy_url}/api", "--project-id", BILLING,
        "--api-key-env", "K", K=BILLING_KEY, CONVOY_BOT_SECRET_KEY="",
    )  # fmt: skip
    env_alias = teams.cli(
        "projects", "add", "payments", "--api-url", f"{teams.convoy_url}/api",
        "--project-id", BILLING, "--api-key-env", "K", K=BILLING_KEY,
    )  # fmt: skip
    bad_alias = teams.cli(
        "projects", "add", "Not An Alias", "--api-url", f"{teams.convoy_url}/api",
        "--project-id", BILLING, "--api-key-env", "K", K=BILLING_KEY,
    )  # fmt: skip
    unset = teams.cli(
        "projects", "add", "y", "--api-url", f"{teams.convoy_url}/api", "--project-id", BILLING,
        "--api-key-env", "NOT_SET",
    )  # fmt: skip
    unknown = teams.cli("projects", "remove", "nobody")
    from_env = teams.cli("projects", "remove", "payments")
    (teams.tmp / "junk.json").write_text('{"projects": "no"}')
    junk = teams.cli("projects", "import", str(teams.tmp / "junk.json"))
    malformed = teams.cli("projects", "list", CONVOY_BOT_SECRET_KEY="not-a-fernet-key")
    one = teams.cli("projects", "check", "billing")

    assert typed.returncode == 0, typed.stderr
    assert "added typed: Convoy project" in typed.stdout
    assert BILLING_KEY not in typed.stdout + typed.stderr
    for refused, says in (
        (no_secret, "Set CONVOY_BOT_SECRET_KEY first"),
        (env_alias, "`payments` is the alias of the project the CONVOY_* variables name"),
        (bad_alias, "`Not An Alias` is not a project alias"),
        (unknown, "There is no stored project `nobody`."),
        (from_env, "(it comes from the CONVOY_* variables)"),
        (junk, "That is not a file written by `convoy-bot projects export`."),
    ):
        assert refused.returncode == 1, refused.stdout
        assert says in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert unset.returncode == 2
    assert "NOT_SET is not set" in unset.stderr
    assert malformed.returncode == 2
    assert "CONVOY_BOT_SECRET_KEY must be Fernet keys" in malformed.stderr
    assert one.stdout == "billing\tok\n"
    stored = teams.client().hkeys(redis_keys.projects())
    assert sorted(stored) == ["billing", "eu", "typed"]


def test_audit_cli_shows_one_project_when_asked(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    convoy.add_endpoint("orders-api")
    convoy.add_endpoint("invoices", project=BILLING)
    sender = teams.start()
    sender.command(OPERATOR, "pause orders-api -p payments")
    sender.command(OPERATOR, "pause invoices -p billing")
    written(convoy, 2)
    assert wait_until_idle(teams.bot.url), "both pauses audited"

    billing = teams.cli("audit", "--project", "billing", "--json")
    everything = teams.cli("audit", "--json")

    entries = json.loads(billing.stdout)
    assert [e["endpoint_name"] for e in entries if e["command"] == "pause"] == ["invoices"]
    assert {e["project"] for e in entries} == {project_scope(teams.convoy_url, BILLING)}
    names = {e["endpoint_name"] for e in json.loads(everything.stdout)}
    assert {"orders-api", "invoices"} <= names


def test_the_form_acts_in_the_channels_project_and_says_so(
    teams: Teams, convoy: FakeConvoy, eu: FakeConvoy, slack: FakeSlack
) -> None:
    """In a channel bound to eu, `/convoy pause` opens a form naming eu; its menu searches
    eu's Convoy; submitting pauses eu's endpoint. In an unbound channel the form cannot ask
    which project first (its trigger lives 3 s): it says how to name one, and opens nothing."""
    convoy.add_endpoint("orders-api")
    theirs = str(eu.add_endpoint("orders-api")["uid"])
    sender = teams.start()
    bind(teams, slack, ADMIN, BILLING_CHANNEL, "eu")

    sender.command(OPERATOR, "pause", channel_id=BILLING_CHANNEL)
    form = filled_form(slack)
    options = sender.suggest(OPERATOR, form, ids.ENDPOINT_BLOCK, "orders")
    (option,) = options["options"]
    sender.submit(OPERATOR, form, {ids.ENDPOINT_BLOCK: option, ids.REASON_BLOCK: "eu only"})
    written(eu, 1)
    unbound = sender.command(OPERATOR, "pause")
    named = sender.command(OPERATOR, "resume -p eu")

    assert "Project: `eu`" in view_text(form)
    assert option["value"] == theirs
    assert writes_of(eu) == [("pause", theirs, PROJECT)]
    assert writes_of(convoy) == []
    assert "eu only" in post_with(slack, "eu only").text
    refusal = reply_to(slack, unbound.token)[0]
    assert "open the form in one with `/convoy pause -p &lt;alias&gt;`" in refusal
    assert "`payments`, `billing`, `eu`" in refusal
    assert len(slack.api_calls("views.open")) == 2, "the form opened for -p eu, not unbound"
    assert named.response.text == ""


# --- 8. many projects without new ways to go wrong ---


def test_one_project_spelled_two_ways_is_one_identity_and_takes_one_toggle(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    """`pay2` is payments with its host in other letters: two pauses at once through both
    aliases take one lock, so Convoy gets one toggle and the endpoint ends paused."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    port = httpx.URL(teams.convoy_url).port
    teams.add("pay2", f"http://LocalHost:{port}", PROJECT, CONVOY_KEY)
    sender = teams.start(CONVOY_API_URL=f"http://localhost:{port}/api/")
    convoy.set_fault("get", delay=0.6, times=1)  # the first holds the lock a while

    with convoy_receives(convoy, "get", what="the first read"):
        first = sender.command(OPERATOR, f"pause {uid} -p payments")
    second = sender.command(OPERATOR, f"pause {uid} -p pay2")
    answers = reply_to(slack, second.token)[0]
    post_with(slack, "paused")
    del first

    assert writes_of(convoy) == [("pause", uid, PROJECT)]
    assert "right now. No change was made" in answers
    assert convoy.endpoint(uid)["status"] == "paused"
    listed = teams.cli("projects", "list", CONVOY_API_URL=f"http://localhost:{port}/api/")
    assert f"http://localhost:{port}/api\t" in listed.stdout, listed.stdout


def test_rebinding_a_bound_channel_needs_the_admin_of_its_project_and_says_what_it_replaced(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    """An admin of billing alone cannot take payments' channel with `/convoy bind billing`
    (the channel's pauses stay in payments); a global admin can, and is told what it replaced."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    convoy.add_endpoint("orders-api", project=BILLING)
    teams.grant(PAY_ADMIN, "admin", "payments")
    teams.grant(BILLING_ADMIN, "admin", "billing")
    sender = teams.start()
    bind(teams, slack, PAY_ADMIN, PAYMENTS_CHANNEL, "payments")

    taken = bind(teams, slack, BILLING_ADMIN, PAYMENTS_CHANNEL, "billing")
    sender.command(OPERATOR, "pause orders-api still ours", channel_id=PAYMENTS_CHANNEL)
    post_with(slack, "still ours")
    retaken = bind(teams, slack, ADMIN, PAYMENTS_CHANNEL, "billing")

    assert "bound to project `payments`" in taken
    assert "needs the *admin* role there too. Nothing was changed." in taken
    assert writes_of(convoy) == [("pause", uid, PROJECT)], "the pause acted in payments"
    assert "now acts on project `billing`" in retaken
    assert "It no longer acts on project `payments`" in retaken
    assert teams.client().hgetall(redis_keys.bindings()) == {
        PAYMENTS_CHANNEL: project_scope(teams.convoy_url, BILLING)
    }


def test_an_alias_is_not_pointed_elsewhere_nor_removed_while_its_project_holds_work(
    teams: Teams, convoy: FakeConvoy, eu: FakeConvoy, slack: FakeSlack
) -> None:
    """`projects add billing` with another URL is refused while a timed pause is held there
    (the timer would belong to no project); `projects remove` is refused under an open
    approval and a write in doubt too. Each refusal names what is held and changes nothing."""
    convoy.add_endpoint("invoices", project=BILLING)
    convoy.add_endpoint("ledger", project=BILLING)
    convoy.add_endpoint("refunds", project=BILLING)
    eu.add_project(BILLING, BILLING_KEY)
    teams.grant(REQUESTER, "requester", "billing")
    sender = teams.start(CONVOY_BOT_SETTLE_SECONDS="600")
    sender.command(OPERATOR, "pause invoices -p billing for 1h timed")
    post_with(slack, "timed")
    assert wait_until_idle(teams.bot.url), "the pause booked as a hold"
    before = teams.client().hget(redis_keys.projects(), "billing")

    repointed = teams.cli(
        "projects", "add", "billing", "--api-url", f"{teams.eu_url}/api",
        "--project-id", BILLING, "--api-key-env", "BILLING_KEY", BILLING_KEY=BILLING_KEY,
    )  # fmt: skip
    sender.command(REQUESTER, "pause ledger -p billing please")
    eventually(lambda: find_approve(post_with(slack, "please")), what="the approval request")
    convoy.set_fault("pause", status=502, times=1)
    sender.command(OPERATOR, "pause refunds -p billing in doubt")
    eventually(lambda: len(convoy.writes()) >= 2, what="the write in doubt")
    eventually(lambda: across_shards(teams.client(), redis_keys.in_flight_due), what="its journal")
    removed = teams.cli("projects", "remove", "billing")

    assert repointed.returncode != 0
    assert "still has 1 pause(s) the bot holds: invoices (auto-resume due)" in repointed.stderr
    assert "Nothing was stored." in repointed.stderr
    assert teams.client().hget(redis_keys.projects(), "billing") == before
    assert removed.returncode != 0
    assert "1 open approval request(s): pause ledger" in removed.stderr
    assert "1 write(s) to Convoy not yet settled: pause refunds" in removed.stderr
    assert "Nothing was removed." in removed.stderr
    assert teams.client().hget(redis_keys.projects(), "billing") == before
    assert eu.writes() == []


def test_an_alias_pointed_at_a_new_url_takes_its_channels_and_roles_along(
    teams: Teams, convoy: FakeConvoy, eu: FakeConvoy, slack: FakeSlack
) -> None:
    """With nothing held, re-adding `billing` at another URL moves its channel binding and
    its role grants to the new identity (and says so): the channel's next pause acts there."""
    eu.add_project(BILLING, BILLING_KEY)
    theirs = str(eu.add_endpoint("invoices", project=BILLING)["uid"])
    convoy.add_endpoint("invoices", project=BILLING)
    teams.grant(PAY_OPERATOR, "operator", "billing")
    teams.start()
    bind(teams, slack, ADMIN, BILLING_CHANNEL, "billing")

    repointed = teams.cli(
        "projects", "add", "billing", "--api-url", f"{teams.eu_url}/api",
        "--project-id", BILLING, "--api-key-env", "BILLING_KEY", BILLING_KEY=BILLING_KEY,
    )  # fmt: skip
    sender = teams.start()
    sender.command(PAY_OPERATOR, "pause invoices moved along", channel_id=BILLING_CHANNEL)
    post_with(slack, "moved along")

    assert repointed.returncode == 0, repointed.stderr
    assert f"channels bound to it now act on it: {BILLING_CHANNEL}" in repointed.stdout
    assert "1 role grant(s) in it moved to it" in repointed.stdout
    new_scope = project_scope(teams.eu_url, BILLING)
    assert teams.client().hget(redis_keys.bindings(), BILLING_CHANNEL) == new_scope
    assert writes_of(eu) == [("pause", theirs, BILLING)]
    assert writes_of(convoy) == []


def open_fds(bot: BotProcess) -> int:
    return len(list(Path(f"/proc/{bot.process.pid}/fd").iterdir()))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_switching_between_two_aliases_of_one_project_opens_no_new_connections(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    """100 commands alternating between `payments` and its second alias `pay2` share one
    runtime and one Convoy connection pool: the bot's open descriptors do not grow."""
    convoy.add_endpoint("orders-api")
    teams.add("pay2", teams.convoy_url, PROJECT, CONVOY_KEY)
    sender = teams.start()
    for alias in ("payments", "pay2"):  # both built, their first connections open
        reply_to(slack, sender.command(OPERATOR, f"status orders-api -p {alias}").token)
    before = open_fds(teams.bot)

    for turn in range(ALTERNATING_COMMANDS):
        alias = ("payments", "pay2")[turn % 2]
        answer = reply_to(slack, sender.command(OPERATOR, f"status orders-api -p {alias}").token)
        assert "orders-api" in answer[0]
    after = open_fds(teams.bot)

    print(f"open fds before/after {ALTERNATING_COMMANDS} alternating commands: {before} -> {after}")  # noqa: T201
    assert after <= before + 2, f"{before} -> {after}"


ALTERNATING_COMMANDS = 100


def test_chat_names_only_the_projects_the_caller_has_a_role_in(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    """Someone with no role learns no project names from a wrong `-p` or a form; someone with
    a role in payments alone is offered payments alone by the project question."""
    convoy.add_endpoint("orders-api")
    teams.grant(PAY_OPERATOR, "operator", "payments")
    sender = teams.start()

    stranger = reply_to(slack, sender.command(NOBODY, "pause orders-api -p nope").token)[0]
    form = reply_to(slack, sender.command(NOBODY, "pause").token)[0]
    asked = sender.command(PAY_OPERATOR, "pause orders-api card declines")
    (question,) = eventually(lambda: slack.replies(asked.token), what="the project question")
    wrong = reply_to(slack, sender.command(PAY_OPERATOR, "pause orders-api -p nope").token)[0]

    for answer in (stranger, form):
        assert [n for n in ("`billing`", "`eu`", "`payments`") if n in answer] == [], answer
    assert "There is no project `nope`. Projects you have a role in: none." in stranger
    assert sorted(project_buttons(question)) == ["payments"]
    assert "Projects you have a role in: `payments`." in wrong
    assert writes_of(convoy) == []


def test_a_project_flag_inside_a_reason_is_the_reasons_text(
    teams: Teams, convoy: FakeConvoy, slack: FakeSlack
) -> None:
    """Issue 21 item 2: `-p` inside a reason is never read as the project flag. `kubectl logs
    -p shows …` pauses in the channel's project with the whole reason; `-p billing` after the
    reason begins is asked about and acts in neither project; a flag named first keeps it."""
    ours = str(convoy.add_endpoint("orders-api")["uid"])
    convoy.add_endpoint("orders-api", project=BILLING)
    sender = teams.start()
    bind(teams, slack, ADMIN, PAYMENTS_CHANNEL, "payments")
    kubectl = "crashlooping, see kubectl logs -p shows OOMKilled"

    sender.command(OPERATOR, f"pause orders-api {kubectl}", channel_id=PAYMENTS_CHANNEL)
    written(convoy, 1)
    told = post_with(slack, kubectl)
    meant = sender.command(
        OPERATOR, "resume orders-api bad payloads -p billing", channel_id=PAYMENTS_CHANNEL
    )
    asked = reply_to(slack, meant.token)[0]
    sender.command(
        OPERATOR,
        "resume orders-api -p payments fixed, unlike -p billing",
        channel_id=PAYMENTS_CHANNEL,
    )
    written(convoy, 2)

    assert writes_of(convoy) == [("pause", ours, PROJECT), ("activate", ours, PROJECT)]
    assert kubectl in told.text, "the whole reason, `-p shows` included"
    assert "The reason says `-p billing`" in asked
    assert "would act on project `payments`" in asked
    assert "Nothing was changed" in asked
    assert post_with(slack, "fixed, unlike -p billing").text
