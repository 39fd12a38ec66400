"""Roles and who may do what."""
