"""Typed commands and forms: reading, resolution, limits."""
