"""`nginx -T` output to files and directives, and which sites proxy to our upstream.

The two samples were recorded from Debian 12's nginx 1.22 with its stock configuration and
default site (run from a copy, its paths written back as /etc/nginx), once as installed plus
our placeholder upstream file, once after the README's steps (the default site's `location /`
replaced by an include of the snippet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bluegreen_local.nginx import sites

SAMPLES = Path(__file__).parent / "samples"
UPSTREAM = "bluegreen_geoip"


def sample(name: str) -> sites.Dump:
    return sites.parse_dump((SAMPLES / f"nginx-T-debian-{name}.txt").read_text())


def test_the_stock_debian_config_lists_every_file_it_read() -> None:
    dump = sample("stock")
    assert dump.files == (
        "/etc/nginx/nginx.conf", "/etc/nginx/mime.types",
        "/etc/nginx/conf.d/bluegreen-geoip.conf", "/etc/nginx/sites-enabled/default")


def test_the_stock_default_site_proxies_to_nobody() -> None:
    assert sample("stock").proxies_to(UPSTREAM) == []


def test_after_the_readme_steps_the_snippet_proxies_to_us() -> None:
    dump = sample("included")
    assert dump.files[-1] == "/etc/nginx/snippets/bluegreen-geoip.conf"
    [found] = dump.proxies_to(UPSTREAM)
    assert found.where == "/etc/nginx/snippets/bluegreen-geoip.conf:11"
    assert found.words == ("proxy_pass", f"http://{UPSTREAM}")
    # The include sits where the default site's `location /` was.
    includes = [d for d in dump.directives if d.words[0] == "include"
                and d.file == "/etc/nginx/sites-enabled/default"]
    assert [d.words[1] for d in includes] == ["snippets/bluegreen-geoip.conf"]


def test_nginx_own_messages_before_the_first_file_are_not_configuration() -> None:
    dump = sample("included")
    assert all(not d.words[0].startswith("nginx:") for d in dump.directives)
    assert dump.directives[0] == sites.Directive("/etc/nginx/nginx.conf", 1,
                                                 ("user", "www-data"))


CRAFTED = """\
nginx: [warn] conflicting server name "_" on 0.0.0.0:80, ignored
# configuration file /etc/nginx/sites-enabled/tricky:
server {
    # proxy_pass http://bluegreen_geoip;   a comment is not a directive
    location /old { proxy_pass http://bluegreen_geoip_old; }
    location /a { proxy_pass "http://bluegreen_geoip/api/"; }
    location /b {
        proxy_pass
            https://bluegreen_geoip$request_uri;
    }
    location /c { proxy_pass http://127.0.0.1:7001; }
    location /d { return 200 "proxy_pass http://bluegreen_geoip; {"; }
    location /e { proxy_pass http://bluegreen_geoip?x=1; }
    location /f { grpc_pass grpc://bluegreen_geoip; }
}
"""


def test_only_real_proxy_pass_directives_to_our_upstream_count() -> None:
    found = sites.parse_dump(CRAFTED).proxies_to(UPSTREAM)
    assert [d.line for d in found] == [4, 6, 11]
    assert found[1].words == ("proxy_pass", "https://bluegreen_geoip$request_uri")


def test_a_quoted_brace_or_semicolon_stays_inside_its_word() -> None:
    [ret] = [d for d in sites.parse_dump(CRAFTED).directives if d.words[0] == "return"]
    assert ret.words == ("return", "200", "proxy_pass http://bluegreen_geoip; {")
    assert ret.line == 10


def test_no_file_header_means_no_configuration() -> None:
    assert sites.parse_dump("nginx: [emerg] unknown directive\n") == sites.Dump((), ())


@pytest.mark.parametrize(("command", "expected"), [
    (("nginx", "-t"), ["nginx", "-T"]),
    (("sudo", "-n", "/usr/sbin/nginx", "-t", "-q"), ["sudo", "-n", "/usr/sbin/nginx", "-T", "-q"]),
    (("nginx", "-p", "/srv/", "-c", "/srv/nginx.conf", "-t"),
     ["nginx", "-p", "/srv/", "-c", "/srv/nginx.conf", "-T"]),
    (("nginx", "-T"), ["nginx", "-T"]),
    (("/usr/local/bin/test-nginx",), None),
])
def test_the_dump_command_is_the_test_command_with_capital_t(
    command: tuple[str, ...], expected: list[str] | None
) -> None:
    assert sites.dump_argv(command) == expected
