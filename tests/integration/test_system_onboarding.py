"""The README's system-mode steps, literally, on Debian's own nginx configuration with its
default site enabled (a copy of /etc/nginx in a private prefix, see integration.debian)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import free_port, poll
from loadgen import Load

from integration.debian import DebianNginx, copy_debian_nginx, system_settings
from integration.support import Project, get

pytestmark = pytest.mark.nginx

SNIPPET = "snippets/bluegreen-itest.conf"
NARROW = {**os.environ, "COLUMNS": "40"}  # the width that used to wrap the snippet


@pytest.fixture
def debian(project: Project) -> Iterator[DebianNginx]:
    """Debian's configuration, copied; not started (the tests start it when they need it)."""
    ngx = copy_debian_nginx(project.nginx_bin, project.root / "host", free_port())
    yield ngx
    ngx.stop()


def upstream_file(ngx: DebianNginx) -> Path:
    return ngx.etc / "conf.d/bluegreen-itest.conf"


def items(document: dict[str, object]) -> dict[str, dict[str, object]]:
    found = document["items"]
    assert isinstance(found, list)
    return {str(i["name"]): i for i in found}


def include_snippet(ngx: DebianNginx) -> None:
    """The README's edit: the default site's `location / { ... }` becomes the include."""
    site = ngx.etc / "sites-enabled/default"
    text, count = re.subn(r"^\tlocation / \{\n.*?^\t\}\n", f"\tinclude {SNIPPET};\n",
                          site.read_text(), count=1, flags=re.MULTILINE | re.DOTALL)
    assert count == 1, "Debian's default site has no `location /`?"
    site.write_text(text)


def test_the_readme_steps_on_debians_nginx_with_its_default_site(
    project: Project, debian: DebianNginx
) -> None:
    assert debian.run().returncode == 0  # the host's nginx already runs
    poll(lambda: get(debian.port)[0] != 0, what="Debian's default site to answer")
    # bluegreen init, then the edit that sets system mode.
    project.config.unlink()
    assert project.cli("init", "--name", "itest").returncode == 0
    project.write_config(nginx=system_settings(project.root, debian, upstream_file(debian)))
    # bluegreen check: writes the placeholder upstream, warns that no site proxies to it.
    found = items(project.cli_json("check"))
    assert found["upstream file"]["ok"] and upstream_file(debian).is_file()
    assert found["site"]["warning"], found["site"]
    # bluegreen check --snippet > /etc/nginx/snippets/bluegreen-itest.conf
    done = project.cli("check", "--snippet", env=NARROW)
    assert done.returncode == 0, done.stderr
    (debian.etc / SNIPPET).write_text(done.stdout)
    include_snippet(debian)
    # nginx -t && systemctl reload nginx: valid before the first deploy, and answers 502.
    assert debian.run("-t").returncode == 0, debian.run("-t").stderr
    assert debian.run("-s", "reload").returncode == 0
    poll(lambda: get(debian.port)[0] == 502, what="the site to proxy to the placeholder")
    found = items(project.cli_json("check"))
    assert not any(i["warning"] for i in found.values()), found
    line = 1 + done.stdout.split("    proxy_pass ", 1)[0].count("\n")
    assert str(found["site"]["detail"]).endswith(f"{debian.etc / SNIPPET}:{line}")
    # bluegreen deploy v1, then v2 under load.
    project.cli_json("deploy", "v1")
    assert get(debian.port) == (200, "hello from v1\n")
    with Load("127.0.0.1", debian.port, threads=4, max_seconds=120) as load:
        load.wait_for(50)
        project.cli_json("deploy", "v2")
        stats = load.stop()
    assert stats.failed == 0, dict(stats.failures)
    assert get(debian.port) == (200, "hello from v2\n")
    assert items(project.cli_json("check"))["upstream file"]["ok"]


def test_the_snippet_check_prints_at_40_columns_passes_nginx_t(
    project: Project, debian: DebianNginx
) -> None:
    project.write_config(nginx=system_settings(project.root, debian, upstream_file(debian)))
    done = project.cli("check", env=NARROW)
    assert done.returncode == 0, done.stdout + done.stderr
    snippet = project.cli_json("check")["snippet"]
    assert isinstance(snippet, str) and done.stdout.endswith(snippet)
    (debian.etc / SNIPPET).write_text(done.stdout[-len(snippet):])
    include_snippet(debian)
    tested = debian.run("-t")
    assert tested.returncode == 0, tested.stderr


def test_the_snippet_next_to_the_default_location_gets_a_hint(
    project: Project, debian: DebianNginx
) -> None:
    """Pasting ours beside Debian's own `location /`: nginx refuses, check says what to do."""
    project.write_config(nginx=system_settings(project.root, debian, upstream_file(debian)))
    done = project.cli("check", "--snippet")
    (debian.etc / SNIPPET).write_text(done.stdout)
    site = debian.etc / "sites-enabled/default"
    site.write_text(site.read_text().replace("\tserver_name _;\n",
                                             f"\tserver_name _;\n\tinclude {SNIPPET};\n", 1))
    checked = project.cli("check", "--json")
    assert checked.returncode == 3
    refused = items(json.loads(checked.stdout))["nginx"]
    assert 'duplicate location "/"' in str(refused["detail"])
    assert "has a `location /` of its own" in str(refused["detail"])
