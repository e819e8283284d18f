"""bluegreen-local: zero-downtime blue-green deploys on one server behind nginx."""

__version__ = "0.1.0"
