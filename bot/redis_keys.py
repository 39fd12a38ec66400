"""Every Redis key the bot uses, in one place.

Keys that multi-key operations touch together share a `{hash tag}` so they land in one
Redis Cluster slot.
"""

from __future__ import annotations

PREFIX = "convoy-bot"


def user_roles(user_id: str) -> str:
    """Hash of one user's roles: field = Convoy project id or `*`, value = role name."""
    return f"{PREFIX}:roles:{{{user_id}}}"


def role_holders() -> str:
    """Set of user ids that hold at least one stored role (for `roles list`)."""
    return f"{PREFIX}:role-holders"


def endpoint_lock(project: str, uid: str) -> str:
    """Lock held while the bot changes one endpoint."""
    return f"{PREFIX}:lock:{{{project}:{uid}}}"


def pending_choice(choice_id: str) -> str:
    """A pick-one question waiting for the caller's click."""
    return f"{PREFIX}:choice:{{{choice_id}}}"
