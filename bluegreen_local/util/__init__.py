"""Small helpers with no domain knowledge: running commands, process trees, loopback TCP, time."""
