"""Unit tests: pure logic, config validation, templates and state, no servers or nginx."""
