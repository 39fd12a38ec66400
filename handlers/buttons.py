"""One codec for what Slack carries back to the bot: each button's value, and each form's
private metadata, has a type, written and read only here.

A value only identifies things (an endpoint, a pause, a request, where a form was opened); it
grants nothing. Every click and submission re-checks the role and the state, and a value that
does not decode is refused with a clear message, never trusted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import InvalidInput
from bot.models import Action


class JsonValue(BaseModel):
    """A button value carried as a small JSON object; `project` is the scope of the project
    it acts in ("" on buttons posted before the bot served several projects)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    damaged: ClassVar[str] = "That button is damaged; nothing was changed."
    project: str = ""

    def encode(self) -> str:
        return self.model_dump_json()

    @classmethod
    def decode(cls, value: str) -> Self:
        try:
            return cls.model_validate_json(value)
        except ValidationError as exc:
            raise InvalidInput(cls.damaged) from exc

    @classmethod
    def of(cls, **fields: object) -> Self:
        """A value made from parts of a payload: InvalidInput when they do not make one."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise InvalidInput(cls.damaged) from exc


class ResumeValue(JsonValue):
    """Resume: the endpoint, and the pause (hold) the button was made for."""

    damaged: ClassVar[str] = "That button is damaged; run `/convoy resume <endpoint>`."
    uid: str
    hold: str = ""


class KeepValue(JsonValue):
    """Keep paused: cancel this pause's auto-resume."""

    uid: str
    hold: str


class ExtendValue(JsonValue):
    """Extend: move this pause's auto-resume, from the due time the clicker saw."""

    uid: str
    hold: str
    due: str  # epoch seconds, as the hold stores it


class CardValue(JsonValue):
    """A failing card's buttons: the endpoint and the episode (card) they were posted for."""

    damaged: ClassVar[str] = "That button is damaged; run `/convoy pause <endpoint>` instead."
    uid: str
    card: str


class RetryValue(JsonValue):
    """Retry discarded events: the endpoint and the window it was paused for (epoch s)."""

    damaged: ClassVar[str] = "That button is damaged; nothing was retried."
    uid: str
    start: int
    end: int

    def window(self) -> tuple[datetime, datetime]:
        try:
            return (
                datetime.fromtimestamp(self.start, UTC),
                datetime.fromtimestamp(self.end, UTC),
            )
        except (ValueError, OverflowError, OSError) as exc:
            raise InvalidInput(self.damaged) from exc


class QuestionValue(BaseModel):
    """A pick-one or confirm button: the stored question's id, the endpoint, and the
    project's scope, `id:uid|scope` (`id:uid` on buttons from before several projects)."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    uid: str
    project: str = ""

    def encode(self) -> str:
        return f"{self.question_id}:{self.uid}|{self.project}"

    @classmethod
    def decode(cls, value: str) -> Self:
        question_id, _, rest = value.partition(":")
        uid, _, project = rest.partition("|")
        if not question_id or not uid:
            raise InvalidInput("That button is damaged; run the command again.")
        return cls(question_id=question_id, uid=uid, project=project)


class ProjectPickValue(BaseModel):
    """A project for a command typed where the project was not known: `command_id:alias`."""

    model_config = ConfigDict(frozen=True)

    command_id: str
    alias: str

    def encode(self) -> str:
        return f"{self.command_id}:{self.alias}"

    @classmethod
    def decode(cls, value: str) -> Self:
        command_id, _, alias = value.partition(":")
        if not command_id or not alias:
            raise InvalidInput("That button is damaged; type the command again.")
        return cls(command_id=command_id, alias=alias)


class RequestValue(BaseModel):
    """Approve or Deny: the request's id and its project's scope, `id|scope` (a bare id on
    buttons from before several projects)."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    project: str = ""

    def encode(self) -> str:
        return f"{self.request_id}|{self.project}"

    @classmethod
    def decode(cls, value: str) -> Self:
        request_id, _, project = value.partition("|")
        return cls(request_id=request_id, project=project)


class ChangeForm(JsonValue):
    """The pause or resume form (its private metadata): a submission carries neither channel
    nor response URL, so the form keeps those of the command or shortcut that opened it, and
    the scope of the project it acts in (`project`)."""

    damaged: ClassVar[str] = "This form is damaged; run `/convoy pause <endpoint>` instead."
    action: Action
    channel: str = Field(min_length=1)
    response_url: str = Field(min_length=1)


class DenyForm(JsonValue):
    """Deny's reason form: the request (in `project`), and where its message and the click's
    replies go."""

    damaged: ClassVar[str] = "This form is damaged; click *Deny* on the request again."
    request_id: str = Field(min_length=1)
    channel: str = Field(min_length=1)
    response_url: str = ""  # none when Deny was clicked on the App Home tab
    message_ts: str = ""
