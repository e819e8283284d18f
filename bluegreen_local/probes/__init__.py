"""The HTTP side: the one HTTP client (`http`) and the health probes of the slots on it."""
