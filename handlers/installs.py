"""Installed in many workspaces: Bolt's OAuth flow over the Redis installation store, an
authorize that never asks Slack, and the workspace each request serves (bot.tenancy).

`GET /slack/install` sends the installer to Slack; `/slack/oauth_redirect` stores the
installation (tokens sealed) and makes the installer the workspace's first admin. Each
signed request is then authorized from the stored installation (cached per process: no
`auth.test` per request) and served in its workspace: every key it reads or writes is that
workspace's. `app_uninstalled` and `tokens_revoked` delete the tokens (Bolt's listeners,
which it registers only when asked).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import tenancy
from bot.access.role_admin import EVERYWHERE, RoleAdmin
from bot.access.roles import Role
from bot.errors import BotError
from bot.tenancy import Workspace
from bot.workspaces.installations import RedisInstallationStore, RedisOAuthStateStore
from bot.workspaces.tokens import WorkspaceTokens

logger = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot's scopes, as in manifest.yml (an install asks for exactly these).
BOT_SCOPES = ("commands", "chat:write", "usergroups:read", "channels:read", "groups:read")
INSTALLER_ACTOR = "slack-install"


class StoredAuthorize(AsyncAuthorize):
    """A request's bot token from the installation store (through the process's cache),
    never from a call to Slack."""

    def __init__(self, tokens: WorkspaceTokens) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # unannotated in Bolt
        self._tokens = tokens

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        workspace = workspace_of(context)
        if workspace is None:
            return None
        try:
            bot = await self._tokens.bot(workspace)
        except BotError:
            # Redis is down: no token, but the request still reaches its listener, whose
            # first read of Redis fails closed with the bot's own message ("the access store
            # is unavailable"), not Bolt's "reinstall the app", which would be wrong.
            return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)
        if bot is None or bot.bot_token is None:
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )


def workspace_of(context: AsyncBoltContext) -> Workspace | None:
    """The workspace (or org) a signed request came from; None if it names neither."""
    try:
        return Workspace(
            enterprise_id=context.enterprise_id or "",
            team_id=context.team_id or "",
            org_wide=bool(context.is_enterprise_install),
        )
    except ValueError:
        return None


async def serve_in_workspace(
    context: AsyncBoltContext, next_: Callable[[], Awaitable[BoltResponse]]
) -> BoltResponse:
    """The request, and the work it starts, touch its own workspace's state only."""
    workspace = workspace_of(context)
    if workspace is not None:
        tenancy.enter(workspace)
    else:
        # Names no workspace (Slack always names one): whatever it runs finds no keys at all,
        # even in a task that served another workspace's request before.
        tenancy.serve_many()
    return await next_()


def oauth_flow(
    *,
    client_id: str,
    client_secret: str,
    authorize_url: str,
    redirect_url: str | None,
    installations: RedisInstallationStore,
    states: RedisOAuthStateStore,
    client: AsyncWebClient,
    roles: Callable[[], RoleAdmin],
) -> AsyncOAuthFlow:
    """Bolt's OAuth flow: the state in Redis (any replica may get the redirect), the
    installation sealed in Redis, the installer made the workspace's admin."""

    async def installed(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        org_wide = bool(installation.is_enterprise_install)
        workspace = Workspace(
            installation.enterprise_id or "",
            "" if org_wide else installation.team_id or "",
            org_wide,
        )
        if installation.user_id:
            with tenancy.within(workspace):
                await roles().grant(INSTALLER_ACTOR, installation.user_id, Role.ADMIN, EVERYWHERE)
        logger.info("installed in %s (%s)", workspace.key, "org-wide" if org_wide else "workspace")
        return await args.default.success(args)

    settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(BOT_SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        redirect_uri=redirect_url,
        authorization_url=authorize_url,
        # Straight to Slack: no page of ours between the link and Slack's consent screen.
        install_page_rendering_enabled=False,
        installation_store=installations,
        state_store=states,
        callback_options=AsyncCallbackOptions(success=installed, failure=_failed),
        logger=logger,
    )
    return AsyncOAuthFlow(client=client, settings=settings)


async def _failed(args: AsyncFailureArgs) -> BoltResponse:
    """Bolt's own failure page, with its reason (the options need both callbacks)."""
    response: BoltResponse = await args.default.failure(args)
    return response
