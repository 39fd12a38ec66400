"""The App Home board: one person's view of their projects, republished when it changes."""
