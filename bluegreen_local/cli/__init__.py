"""The command line: the fast lane for `status --json` (lane), the typer app, rendering."""
