"""The rule for health.headers entries (config/fields.py), which the config loader applies."""

from __future__ import annotations

import pytest

from bluegreen_local.config.fields import header_problem


@pytest.mark.parametrize(
    ("name", "value"),
    [("X-Probe", "bluegreen"), ("Authorization", "Bearer abc.def"), ("User-Agent", "ok/1"),
     ("x_odd!#$%&'*+.^`|~", "a\tb"), ("X-Empty", "")],
)
def test_accepted(name: str, value: str) -> None:
    assert header_problem(name, value) is None


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("Host", "example.com", "set the Host header with health.host_header"),
        ("host", "example.com", "set the Host header with health.host_header"),
        ("Connection", "keep-alive", "Connection is the probe's own header and cannot be set"),
        ("Transfer-Encoding", "chunked",
         "Transfer-Encoding is the probe's own header and cannot be set"),
        ("X Bad", "1", "'X Bad' is not a header name: use letters, digits and "
                       "! # $ % & ' * + - . ^ _ ` | ~"),
        ("", "1", "'' is not a header name: use letters, digits and ! # $ % & ' * + - . ^ _ ` | ~"),
        ("X-A:", "1", "'X-A:' is not a header name: use letters, digits and "
                      "! # $ % & ' * + - . ^ _ ` | ~"),
        ("X-A", "a\r\nX-Injected: 1", "the value of X-A holds a CR, LF or NUL character"),
        ("X-A", "a\nb", "the value of X-A holds a CR, LF or NUL character"),
        ("X-A", "a\x00", "the value of X-A holds a CR, LF or NUL character"),
        ("X-A", "a\x1bb", "the value of X-A must be printable ASCII, got 'a\\x1bb'"),
        ("X-A", "caf\u00e9", "the value of X-A must be printable ASCII, got 'caf\u00e9'"),
    ],
)
def test_refused(name: str, value: str, problem: str) -> None:
    assert header_problem(name, value) == problem
