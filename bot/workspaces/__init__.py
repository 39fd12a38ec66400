"""The installations of a bot serving many workspaces: their tokens, sealed, and refreshed."""
