"""The watcher: cards, changes outside the bot, /convoy watch."""
