"""Pure Block Kit builders: every message the bot sends, with its plain-text fallback.

Each builder returns a `Message` (fallback text, blocks) built from smaller builders; no
builder edits another's output. User text is always escaped, so it can never ping or link.
"""
