"""The change engine: pause and resume, never two toggles, faults, chaos."""
