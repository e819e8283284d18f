"""The deploy machinery: the phase runner, switch, drain, recovery and signal policy."""
