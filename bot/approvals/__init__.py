"""Approval requests: asked by requesters, decided once by approvers, their button claims."""
