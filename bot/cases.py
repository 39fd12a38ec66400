"""The use cases of one project, built once per project by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access import Access
from bot.auto_resume import AutoResuming
from bot.changing import Changing
from bot.deciding import Deciding
from bot.discarded import DiscardedRetry
from bot.paused_list import PausedList
from bot.projects import Project
from bot.reading import Reading
from bot.resume_button import ResumeButton
from bot.settling import Settling
from bot.suggesting import Suggesting
from bot.timed_pauses import TimerControls
from bot.watch_actions import CardPause, Snoozing
from bot.watch_view import WatchView


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
