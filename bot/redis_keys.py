"""Every Redis key the bot uses, in one place.

Keys that multi-key operations touch together share a `{hash tag}` so they land in one
Redis Cluster slot. An endpoint's records (its lock, the in-flight write, the hold, the
bot's own last write) carry the tag of its shard, and so do the indexes that list them
across projects (holds, timers, reminders, writes to settle), split into SHARDS: a script
that books a pause touches one slot, and a scheduler reads every shard for due work.
"""

from __future__ import annotations

import zlib

from bot import tenancy

PREFIX = "convoy-bot"

# How many parts the cross-project indexes are split into. Fixed: a record's shard is part
# of its key names. Sixteen tags spread over the masters of any small cluster.
SHARDS = 16


def _prefix() -> str:
    """`convoy-bot`, or with many workspaces the one this work serves (bot.tenancy):
    `convoy-bot:ws:T0123`. The workspace is no hash tag: a key's slot stays its own tag's."""
    workspace = tenancy.current()
    return PREFIX if workspace is None else f"{PREFIX}:ws:{workspace.key}"


def workspace_state(key: str) -> str:
    """A SCAN pattern for every key of one workspace's state (many-workspace mode)."""
    return f"{PREFIX}:ws:{key}:*"


def shard(project: str, uid: str) -> int:
    """The shard one endpoint's records and index entries belong to (stable across
    processes and versions: CRC-32, not Python's salted hash)."""
    return zlib.crc32(f"{project}|{uid}".encode()) % SHARDS


def _shard_tag(number: int) -> str:
    return f"{{s{number:02d}}}"


def _of_endpoint(kind: str, project: str, uid: str) -> str:
    return f"{_prefix()}:{_shard_tag(shard(project, uid))}:{kind}:{project}:{uid}"


def user_roles(user_id: str) -> str:
    """Hash of one user's roles: field = Convoy project id or `*`, value = role name."""
    return f"{_prefix()}:roles:{{{user_id}}}"


def role_holders() -> str:
    """Set of user ids that hold at least one stored role (for `roles list`)."""
    return f"{_prefix()}:role-holders"


def endpoint_lock(project: str, uid: str) -> str:
    """Lock held while the bot changes one endpoint."""
    return _of_endpoint("lock", project, uid)


def pending_choice(choice_id: str) -> str:
    """A pick-one question waiting for the caller's click."""
    return f"{_prefix()}:choice:{{{choice_id}}}"


def approval(request_id: str) -> str:
    """Hash holding one approval request and its state."""
    return f"{_prefix()}:approval:{{{request_id}}}"


def open_approval(project: str, uid: str, action: str) -> str:
    """The id of the pending request for one endpoint and action, so nobody asks twice."""
    return f"{_prefix()}:approval-open:{{{project}:{uid}}}:{action}"


def open_approvals_pattern() -> str:
    """A SCAN pattern matching every `open_approval` key (the gauge of waiting requests)."""
    return f"{_prefix()}:approval-open:*"


def approvals_waiting(project: str) -> str:
    """Sorted set of one project's requests that may still be pending: member = request id,
    score = its expiry (epoch seconds), for the App Home's list of requests to decide."""
    return f"{_prefix()}:approvals-waiting:{{{project}}}"


def button_claim(channel_id: str, message_ts: str, action_id: str) -> str:
    """Who took a button on one message: the first authorised click wins."""
    return f"{_prefix()}:claim:{{{channel_id}:{message_ts}}}:{action_id}"


def group_roles(group_id: str) -> str:
    """Hash of one Slack user group's roles: field = project or `*`, value = role name."""
    return f"{_prefix()}:group-roles:{{{group_id}}}"


def role_groups() -> str:
    """Set of Slack user group ids that hold at least one role."""
    return f"{_prefix()}:role-groups"


def group_members(group_id: str) -> str:
    """Short-lived cache of a user group's members (with an empty-string marker when loaded)."""
    return f"{_prefix()}:group-members:{{{group_id}}}"


def audit_stream() -> str:
    """The audit trail: a capped Redis Stream."""
    return f"{_prefix()}:audit"


def change_rate(user_id: str, window: int) -> str:
    """How many changes a user asked for in one rate-limit window."""
    return f"{_prefix()}:rate:{{{user_id}}}:{window}"


def hold(project: str, uid: str) -> str:
    """Hash describing the bot's own pause of one endpoint (who, when, why, until when)."""
    return _of_endpoint("hold", project, uid)


def holds_index(number: int) -> str:
    """Set of `project|uid` for every endpoint of one shard the bot holds paused."""
    return f"{_prefix()}:{_shard_tag(number)}:holds"


def resume_timers(number: int) -> str:
    """Sorted set of one shard's due auto-resumes: member `project|uid|hold_id`, score = due
    epoch."""
    return f"{_prefix()}:{_shard_tag(number)}:timers"


def resume_reminders(number: int) -> str:
    """Sorted set of one shard's reminders before auto-resume, same members, score = remind
    epoch."""
    return f"{_prefix()}:{_shard_tag(number)}:reminders"


def clock_offset() -> str:
    """Seconds a test moved the bots' shared clock by (read only with CONVOY_BOT_MOVABLE_CLOCK)."""
    return f"{PREFIX}:clock-offset"


def in_flight(project: str, uid: str) -> str:
    """Hash of a change the bot sent (or is about to send) to Convoy and has not settled.

    It shares the endpoint lock's hash tag: taking the lock checks it in the same script.
    """
    return _of_endpoint("inflight", project, uid)


def in_flight_due(number: int) -> str:
    """Sorted set of one shard's unsettled changes: member `project|uid`, score = when to
    read Convoy."""
    return f"{_prefix()}:{_shard_tag(number)}:inflight-due"


def alive() -> str:
    """A marker kept while the bot runs: its disappearance means Redis lost its data."""
    return f"{PREFIX}:alive"


def projects() -> str:
    """Hash of the projects added with the CLI: field = alias, value = JSON (key encrypted)."""
    return f"{_prefix()}:projects"


def bindings() -> str:
    """Hash of channel bindings: field = Slack channel id, value = the project's scope."""
    return f"{_prefix()}:{{bindings}}"


def pending_command(command_id: str) -> str:
    """A command typed in a channel with several projects, waiting for the project to use."""
    return f"{_prefix()}:pending-command:{{{command_id}}}"


def announcement_copies(channel_id: str, ts: str) -> str:
    """Set of `channel|ts` copies of one announcement in the project's bound channels."""
    return f"{_prefix()}:copies:{{{channel_id}:{ts}}}"


def layout_version() -> str:
    """Which layout of keys this Redis holds (absent: the single-project layout before 2)."""
    return f"{PREFIX}:layout"


def own_write(project: str, uid: str) -> str:
    """The bot's last write to one endpoint, `action|epoch` (kept a week after the write), so
    the watcher tells a status the bot set from one set outside it. It shares the endpoint
    lock's hash tag: the journal records it in the script that records the write."""
    return _of_endpoint("own-write", project, uid)


def binding_notify() -> str:
    """Hash of the Slack user group a bound channel's failing and disabled cards mention:
    field = channel id, value = user group id (`/convoy bind ALIAS --notify @group`). It
    shares the bindings' hash tag: unbinding drops both in one transaction."""
    return f"{_prefix()}:{{bindings}}:notify"


def watch_due() -> str:
    """Sorted set of watched projects: member = scope, score = when its next poll is due (or,
    while a replica polls it, when that replica's lease runs out)."""
    return f"{_prefix()}:watch-due"


def watch_state(project: str) -> str:
    """Hash of what the watcher last saw of each endpoint: field = uid, value = JSON."""
    return f"{_prefix()}:watch:{{{project}}}"


def watch_settings(project: str) -> str:
    """Hash of the endpoints people snoozed: field = uid, value = until (epoch seconds)."""
    return f"{_prefix()}:watch-settings:{{{project}}}"


def watch_cards(project: str) -> str:
    """Hash of the open failing cards in the bound channels: field = uid, value = JSON."""
    return f"{_prefix()}:watch-cards:{{{project}}}"


def watch_rates(project: str) -> str:
    """Hash of the last period failure rates fetched for a project whose breaker sends none:
    field = uid, value = fraction ("" without deliveries); field `_at` = when (epoch)."""
    return f"{_prefix()}:watch-rates:{{{project}}}"


def watch_health() -> str:
    """Hash of each watched project's health (last poll, problem): field = scope."""
    return f"{_prefix()}:watch-health"


def home_viewers() -> str:
    """Sorted set of the people who opened the App Home tab: member = user id, score = when
    (epoch seconds); their boards are kept current for a while after."""
    return f"{_prefix()}:home-viewers"


def home_shown() -> str:
    """Hash of what each recent viewer's Home tab was last published with: field = user id,
    value = `epoch|fingerprint` (when, and the board's content in short)."""
    return f"{_prefix()}:home-shown"


# The installations of a bot serving many workspaces: the deployment's, not a workspace's
# (a workspace's state is found through them), so under the plain prefix. One installation's
# records share the tag of its enterprise and team ids ("-" for none).


def _installation(enterprise_id: str | None, team_id: str | None) -> str:
    return f"{PREFIX}:install:{{{enterprise_id or '-'}:{team_id or '-'}}}"


def installation_bot(enterprise_id: str | None, team_id: str | None) -> str:
    """The bot's token (sealed) and ids for one installation: Bolt's `Bot`, as JSON."""
    return f"{_installation(enterprise_id, team_id)}:bot"


def installation_installer(
    enterprise_id: str | None, team_id: str | None, user_id: str | None
) -> str:
    """The last installation (sealed), or the last one by one user."""
    suffix = f":{user_id}" if user_id else ""
    return f"{_installation(enterprise_id, team_id)}:installer{suffix}"


def installation_installers(enterprise_id: str | None, team_id: str | None) -> str:
    """Set of the user ids that installed it (each has an `installation_installer` record)."""
    return f"{_installation(enterprise_id, team_id)}:installers"


def installation_rotating(enterprise_id: str | None, team_id: str | None) -> str:
    """Held by the one replica refreshing an installation's bot token."""
    return f"{_installation(enterprise_id, team_id)}:rotating"


def installations() -> str:
    """Hash of every installation: field `enterprise:team` ("-" for none), value its JSON
    summary (ids, whether org-wide, names, when installed)."""
    return f"{PREFIX}:installations"


def workspaces() -> str:
    """Set of the installations (`Workspace.ref`) whose workspace has state: installed now, or
    uninstalled and not purged yet (their timers still run)."""
    return f"{PREFIX}:workspaces"


def oauth_state(state: str) -> str:
    """One OAuth install's state, issued by /slack/install and spent by the redirect."""
    return f"{PREFIX}:oauth-state:{{{state}}}"


def slack_rate(budget: str) -> str:
    """When the next call of one Slack rate budget may go (the workspace's calls of a method,
    or its posts to one channel). A workspace's budgets share one tag: a post reserves its
    method's and its channel's in one script."""
    workspace = tenancy.current()
    whose = workspace.key if workspace is not None else "one"
    return f"{_prefix()}:slack-rate:{{rate-{whose}}}:{budget}"
