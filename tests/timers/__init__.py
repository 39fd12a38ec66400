"""Timed pauses, their reminders and auto-resumes."""
