"""The bot's one error hierarchy; every error carries a message fit to show a responder.

    BotError
    ├── UserError                 the caller can fix it
    │   ├── InvalidInput          the command text cannot be understood
    │   │   └── StaleHold         a button or timer's pause is not the current one
    │   ├── EndpointNotFound      no endpoint matches
    │   ├── Forbidden             the caller's role is too low
    │   ├── AlreadyHandled        a button or request someone else already acted on
    │   └── TooManyChanges        the caller hit the per-user rate limit
    ├── AccessStoreUnavailable    Redis is unreachable: fail closed
    ├── ProjectUnavailable        a stored project's API key cannot be decrypted
    ├── EndpointBusy              another change of this endpoint is in flight
    │   ├── WriteInDoubt          an earlier write's answer was lost: no second one
    │   └── LockLost              the lock ran out mid-change: nothing was sent
    └── ConvoyError               Convoy failed or refused
        ├── ProjectMismatch       the API key answers for another project than meant
        ├── ConvoyRejected        400: Convoy refused the request as it stands
        ├── ConvoyAuthFailed      401/403: the bot's API key is wrong or lacks access
        ├── ConvoyRateLimited     429
        ├── ConvoyUnavailable     5xx, connection failures, timeouts
        └── ConvoyBadResponse     a reply the bot cannot read

Messages never include secrets, URLs of endpoints or tracebacks.
"""

from __future__ import annotations


class BotError(Exception):
    """Base of every error the bot reports to a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(BotError):
    """Something the caller can fix."""


class InvalidInput(UserError):
    """The command text cannot be understood."""


class StaleHold(InvalidInput):
    """The pause a button or timer was made for is not the bot's current one: nothing was done.

    `record_gone`: the bot holds no record of any pause of the endpoint, so only Convoy can
    say whether the pause is still in effect (its store may have lost the record).
    """

    def __init__(self, message: str, *, record_gone: bool = False) -> None:
        super().__init__(message)
        self.record_gone = record_gone


class EndpointNotFound(UserError):
    """No endpoint matches what the caller typed."""


class Forbidden(UserError):
    """The caller's role does not allow the action; `grantors` are user ids who can fix that."""

    def __init__(self, message: str, grantors: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.grantors = grantors


class AlreadyHandled(UserError):
    """Someone else already acted on this button or request; `by` is their user id."""

    def __init__(self, message: str, by: str) -> None:
        super().__init__(message)
        self.by = by


class TooManyChanges(UserError):
    """The caller asked for more changes this minute than the bot allows one person."""


class AccessStoreUnavailable(BotError):
    """The role and lock store (Redis) cannot be reached; nothing is allowed."""

    def __init__(self) -> None:
        super().__init__(
            "The access store (Redis) is unavailable, so nothing can be checked or changed "
            "right now. No change was made. Try again shortly or ask the bot's operators."
        )


class ProjectUnavailable(BotError):
    """A stored project cannot be used: its API key does not decrypt with this bot's
    CONVOY_BOT_SECRET_KEY (a wrong key, or one rotated away)."""


class EndpointBusy(BotError):
    """Another change of the same endpoint holds its lock."""


class WriteInDoubt(EndpointBusy):
    """An earlier write to this endpoint got no clear answer; until it is settled by reading
    Convoy, no other write may be sent."""


class LockLost(EndpointBusy):
    """The endpoint lock ran out while Convoy was slow; the write was not sent."""


class ConvoyError(BotError):
    """Convoy failed, refused or could not be reached; `status` is the HTTP status or kind."""

    def __init__(self, message: str, status: str = "") -> None:
        super().__init__(message)
        self.status = status
        # The call that failed (`PUT us.getconvoy.cloud /projects/…/toggle`), for the log.
        self.call = ""


class ProjectMismatch(ConvoyError):
    """Convoy answered for another project than the one meant: the key belongs elsewhere."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "project mismatch")


class ConvoyRejected(ConvoyError):
    """Convoy answered 400: the request does not fit the endpoint's current state."""


class ConvoyAuthFailed(ConvoyError):
    """Convoy answered 401 or 403."""


class ConvoyRateLimited(ConvoyError):
    """Convoy answered 429."""

    def __init__(self, message: str, retry_after: int | None) -> None:
        super().__init__(message, "429")
        self.retry_after = retry_after


class ConvoyUnavailable(ConvoyError):
    """Convoy did not answer usefully: 5xx, connection failure or timeout."""


class ConvoyBadResponse(ConvoyError):
    """Convoy answered with something the bot cannot read."""
