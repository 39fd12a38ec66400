"""The Convoy projects one bot serves, their aliases, keys and channel bindings."""
