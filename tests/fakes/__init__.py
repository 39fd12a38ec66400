"""Fakes of the bot's neighbours (Convoy, Slack), served over real HTTP on loopback."""
