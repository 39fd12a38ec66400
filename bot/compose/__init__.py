"""The composition root: settings, clients and stores built once, the Slack app, the server,
the scheduler, and the CLI."""
