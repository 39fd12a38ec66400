"""convoy-slack-bot: pause, resume and inspect Convoy webhook endpoints from Slack."""
