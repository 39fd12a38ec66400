"""A bot installed through OAuth in many workspaces, on a Redis of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis

from tests.fakes.convoy import FakeConvoy
from tests.fakes.loopback import LoopbackServer, free_port
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_installs import CLIENT_ID, CLIENT_SECRET
from tests.harness import (
    SIGNING_SECRET,
    BotProcess,
    bot_env,
    clean_env,
    run_cli_here,
    start_bot,
    wait_until_idle,
)
from tests.redis_cluster import TestRedis, start_test_redis
from tests.slack_requests import SlackSender

SECRET_KEY = "J2OHTXNz3Cqt8t9vl4wM5dMgWBJE3Xe0kcuoANgjXBw="
ALPHA, BRAVO = "T0ALPHA", "T0BRAVO"
ALPHA_ADMIN, BRAVO_ADMIN = "U0ALPHAADMIN", "U0BRAVOADMIN"
ALPHA_CHANNEL, BRAVO_CHANNEL = "C0ALPHA", "C0BRAVO"


@dataclass
class ManyWorkspaces:
    """Bots serving every workspace that installs them, their Redis, and the fakes."""

    bots: list[BotProcess]
    redis_server: TestRedis
    slack: FakeSlack
    slack_url: str
    env: dict[str, str]
    workdir: Path
    senders: list[SlackSender] = field(default_factory=list)

    @property
    def bot(self) -> BotProcess:
        return self.bots[0]

    def install(
        self,
        team_id: str = "",
        *,
        user_id: str,
        enterprise_id: str = "",
        org_wide: bool = False,
        expires_in: int | None = None,
        bot: BotProcess | None = None,
    ) -> httpx.Response:
        """The OAuth install, as a browser goes through it: the bot's install link to Slack's
        consent page (with a state, and its cookie), approval there, and back to the bot's
        redirect URL with the code."""
        url = (bot or self.bot).url
        with httpx.Client(base_url=url, timeout=10) as browser:
            to_slack = browser.get("/slack/install")
            assert to_slack.status_code == 302, to_slack.text
            consent = urlsplit(to_slack.headers["location"])
            query = parse_qs(consent.query)
            assert f"{consent.scheme}://{consent.netloc}{consent.path}" == (
                f"{self.slack_url}/oauth/v2/authorize"
            )
            assert query["client_id"] == [CLIENT_ID]
            assert "chat:write" in query["scope"][0].split(",")
            code = self.slack.installs.approve(
                team_id,
                enterprise_id=enterprise_id,
                org_wide=org_wide,
                user_id=user_id,
                expires_in=expires_in,
            )
            # The state cookie is `Secure` (Slack's redirect URLs are https): sent back as a
            # browser would over https, where this loopback test speaks http.
            cookie = to_slack.headers["set-cookie"].split(";")[0]
            return browser.get(
                "/slack/oauth_redirect",
                params={"code": code, "state": query["state"][0]},
                headers={"cookie": cookie},
            )

    def sender(
        self,
        team_id: str,
        *,
        enterprise_id: str = "",
        org_wide: bool = False,
        bot: BotProcess | None = None,
    ) -> SlackSender:
        made = SlackSender(
            (bot or self.bot).url,
            SIGNING_SECRET,
            self.slack_url,
            self.slack.issue_response_url,
            self.slack.issue_trigger,
            team_id=team_id,
            enterprise_id=enterprise_id,
            org_wide=org_wide,
        )
        self.senders.append(made)
        return made

    def cli(self, *args: str, **env: str) -> tuple[int, str, str]:
        result = run_cli_here({**self.env, **env}, self.workdir, *args)
        return result.returncode, result.stdout, result.stderr

    def add_project(self, workspace: str, alias: str, convoy: FakeConvoy, url: str) -> None:
        code, out, err = self.cli(
            "projects",
            "add",
            alias,
            "--workspace",
            workspace,
            "--api-url",
            f"{url}/api",
            "--project-id",
            convoy.project_id,
            "--api-key-env",
            "PROJECT_KEY",
            PROJECT_KEY=convoy.api_key,
        )
        assert code == 0, err
        assert f"added {alias}" in out

    def alpha_and_bravo(self, alpha: tuple[FakeConvoy, str], bravo: tuple[FakeConvoy, str]) -> None:
        """Workspaces A and B installed by their admins, each with its channel and its own
        project: `alpha` on A's Convoy, `bravo` on B's (each a fake and its URL)."""
        for team, installer in ((ALPHA, ALPHA_ADMIN), (BRAVO, BRAVO_ADMIN)):
            done = self.install(team, user_id=installer)
            assert done.status_code == 200, done.text
        self.slack.add_channel(ALPHA_CHANNEL, team=ALPHA)
        self.slack.add_channel(BRAVO_CHANNEL, team=BRAVO)
        self.add_project(ALPHA, "alpha", *alpha)
        self.add_project(BRAVO, "bravo", *bravo)

    def store(self) -> redis.Redis | redis.RedisCluster:
        return self.redis_server.client()


@pytest.fixture
def many(
    tmp_path: Path,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
    slack: FakeSlack,
) -> Iterator[Callable[..., ManyWorkspaces]]:
    """Start bots installable in many workspaces (`replicas` of them, sharing one Redis)."""
    started: list[ManyWorkspaces] = []

    def start(replicas: int = 1, **overrides: str) -> ManyWorkspaces:
        server = start_test_redis(tmp_path / "redis")
        slack_url = slack_fake[1].url
        cli_env = {
            **clean_env(),
            "REDIS_URL": server.url,
            "SLACK_CLIENT_ID": CLIENT_ID,
            "CONVOY_BOT_SECRET_KEY": SECRET_KEY,
        }
        bots = []
        for index in range(replicas):
            env = bot_env(convoy_fake[1].url, slack_url, server.url, free_port())
            env.update(
                {
                    "SLACK_BOT_TOKEN": "",
                    "CONVOY_PROJECT_ID": "",
                    "CONVOY_API_KEY": "",
                    "SLACK_CLIENT_ID": CLIENT_ID,
                    "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                    "CONVOY_BOT_SECRET_KEY": SECRET_KEY,
                    "SLACK_OAUTH_AUTHORIZE_URL": f"{slack_url}/oauth/v2/authorize",
                    "CONVOY_TIMEOUT_SECONDS": "5",
                    "CONVOY_BOT_SLACK_RATE_LIMITS": "true",
                    **overrides,
                }
            )
            bots.append(start_bot(env, tmp_path / f"bot{index}"))
        made = ManyWorkspaces(bots, server, slack, slack_url, cli_env, tmp_path)
        started.append(made)
        return made

    yield start
    for made in started:
        for sender in made.senders:
            sender.close()
        for bot in made.bots:
            wait_until_idle(bot.url)
            bot.stop()
        made.redis_server.stop()


@pytest.fixture
def second_convoy() -> Iterator[tuple[FakeConvoy, str]]:
    """Another Convoy, with a project of its own: workspace B's."""
    fake = FakeConvoy(project_id="01BRAVOPROJECT", api_key="bravo-convoy-key")
    server = LoopbackServer(fake.app).start()
    yield fake, server.url
    server.stop()
    assert fake.contract_errors == []
