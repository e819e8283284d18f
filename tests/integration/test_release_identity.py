"""A release is its version plus how it starts: a changed start configuration redeploys."""

from __future__ import annotations

import pytest

from integration.support import Project

pytestmark = pytest.mark.nginx


def test_a_changed_start_configuration_is_a_new_release(project: Project) -> None:
    first = project.cli_json("deploy", "v1")
    assert first["changed"] is True
    status = project.cli_json("status")
    live = status["live"]
    assert isinstance(live, dict)
    digest = live["config_hash"]
    assert isinstance(digest, str) and len(digest) == 12
    assert (project.state_dir / "releases" / f"{digest}.json").exists()
    # Same version, same settings: nothing to do.
    assert project.cli_json("deploy", "v1")["changed"] is False

    project.write_config(app_args="--health-delay 0.01")  # the command changed
    plan = project.cli_json("deploy", "v1", "--dry-run")
    assert plan["noop"] is False and "start configuration changed" in str(plan["message"])
    again = project.cli_json("deploy", "v1")
    assert again["changed"] is True
    assert "redeployed: its start configuration changed" in str(again["message"])
    after = project.cli_json("status")["live"]
    assert isinstance(after, dict) and after["config_hash"] not in (None, digest)
    events = project.cli_json("history")["events"]
    assert isinstance(events, list) and events[0]["config_hash"] == after["config_hash"]
    assert project.cli_json("deploy", "v1")["changed"] is False
