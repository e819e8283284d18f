"""Entry point for `python -m bluegreen_local`."""

from bluegreen_local.entry import main

main()
