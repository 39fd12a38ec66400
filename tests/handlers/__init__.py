"""The Slack-facing edge: signatures, abuse, Block Kit, forms, parsing."""
