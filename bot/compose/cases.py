"""The use cases of one project, built once per project by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access.policy import Access
from bot.approvals.deciding import Deciding
from bot.commands.changing import Changing
from bot.commands.discarded import DiscardedRetry
from bot.commands.paused_list import PausedList
from bot.commands.reading import Reading
from bot.commands.suggesting import Suggesting
from bot.project import Project
from bot.timers.auto_resume import AutoResuming
from bot.timers.resume_button import ResumeButton
from bot.timers.settling import Settling
from bot.timers.timed_pauses import TimerControls
from bot.watch.actions import CardPause, Snoozing
from bot.watch.view import WatchView


@dataclass(frozen=True)
class UseCases:
    """Each thing a user (or a timer) can ask of the bot in one project."""

    project: Project
    access: Access
    reading: Reading
    changing: Changing
    resume_button: ResumeButton
    deciding: Deciding
    timers: TimerControls
    auto_resuming: AutoResuming
    settling: Settling
    paused: PausedList
    discarded: DiscardedRetry
    suggesting: Suggesting
    card_pause: CardPause
    snoozing: Snoozing
    watch_view: WatchView
