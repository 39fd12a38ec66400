"""The watcher: polls of bound projects, failing cards and their buttons, snoozes."""
