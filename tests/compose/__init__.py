"""Start-up, the CLI, logs, metrics, Socket Mode and packaging."""
