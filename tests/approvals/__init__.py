"""Approval requests and their decisions."""
