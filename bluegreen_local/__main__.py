"""Entry point for `python -m bluegreen_local`."""

from bluegreen_local.cli.lane import main

main()
