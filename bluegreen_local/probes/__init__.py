"""The HTTP side: health probes of the slots."""
