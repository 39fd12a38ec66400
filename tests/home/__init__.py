"""The App Home board."""
