"""What a typed command or a form asks for: resolving endpoints, routing a change by role,
reading."""
