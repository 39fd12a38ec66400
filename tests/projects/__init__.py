"""Many projects: identity, bindings, keys, the layout upgrade."""
