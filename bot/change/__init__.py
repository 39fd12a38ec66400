"""The change engine: one locked read-then-write per endpoint, its journal, holds and booking."""
