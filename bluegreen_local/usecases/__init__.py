"""Use cases: one function per command, no printing; each returns a typed result."""
