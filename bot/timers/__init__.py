"""Work that comes due: timed pauses and their auto-resume, settling writes in doubt, the
scheduler."""
