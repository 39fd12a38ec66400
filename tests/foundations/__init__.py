"""The shared foundations: audit, secrets, small parts."""
