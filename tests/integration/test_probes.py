"""Which HTTP backend each command loads, seen from a real run: `status --json` answers on
http.client alone, a deploy's health gate builds the httpx client while the app boots."""

from __future__ import annotations

import json
import subprocess

import pytest

from integration.support import Project

pytestmark = pytest.mark.nginx


def imported(stderr: str) -> set[str]:
    """The modules a `python -X importtime` run imported."""
    return {line.rpartition("|")[2].strip() for line in stderr.splitlines()
            if line.startswith("import time:")}


def run_importtime(project: Project, *args: str) -> tuple[dict[str, object], set[str]]:
    python, *rest = project.argv(*args)
    done = subprocess.run([python, "-X", "importtime", *rest],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    document: dict[str, object] = json.loads(done.stdout)
    return document, imported(done.stderr)


def test_status_json_never_imports_httpx(project: Project) -> None:
    project.cli_json("deploy", "v1")
    status, modules = run_importtime(project, "status", "--json")
    # It did read both: a health probe of the live slot and nginx's served generation.
    live, proxy = status["live"], status["nginx"]
    assert isinstance(live, dict) and live["healthy"] is True
    assert isinstance(proxy, dict) and proxy["generation_served"] is not None
    assert proxy["generation_served"] == proxy["generation_rendered"]
    assert "http.client" in modules and "typer" not in modules  # the fast lane, on http.client
    assert not {m for m in modules if m.split(".")[0] in ("httpx", "httpcore")}


def test_a_deploy_polls_with_httpx(project: Project) -> None:
    result, modules = run_importtime(project, "deploy", "v1", "--json")
    assert result["ok"] is True
    assert {"httpx", "bluegreen_local.probes.via_httpx"} <= modules
