"""Benchmarks: `bluegreen deploy` against the naive switch and a bare reload (`make bench`)."""
