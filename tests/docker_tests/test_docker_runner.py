"""The docker runner against a real engine and a real nginx: deploys under load, the health
gate, foreign containers, crash recovery by label, limits, the capacity check, engine down."""

from __future__ import annotations

import json
import signal

import docker
import pytest
from helpers import poll
from integration.support import get
from integration.test_crash import _signal_at, _start_deploy
from loadgen import Load

from docker_tests.conftest import DockerProject
from docker_tests.engine import Engine

pytestmark = [pytest.mark.nginx, pytest.mark.docker]


def test_deploys_under_load_then_rollback(dproject: DockerProject, engine: Engine) -> None:
    for version in ("v1", "v2", "v3"):
        engine.tag(version)
    first = dproject.cli_json("deploy", "v1")
    assert first["changed"] is True and dproject.serve() == (200, "hello from v1\n")
    with Load("127.0.0.1", dproject.listen_port, threads=4, keepalive=False,
              max_seconds=120) as load:
        load.wait_for(50)
        for version in ("v2", "v3"):
            result = dproject.cli_json("deploy", version)
            assert result["changed"] is True and result["drain_timed_out"] is False
        stats = load.stop()
    assert stats.sent > 100, "the load must really run during the deploys"
    assert stats.failed == 0, dict(stats.failures)
    assert dproject.serve() == (200, "hello from v3\n")
    # One container per running slot, named and labelled; the old one is gone.
    (live,) = dproject.containers()
    assert live.name == f"bluegreen-dtest-{dproject.state()['live']['slot']}"  # type: ignore[index]
    assert live.labels["io.bluegreen.version"] == "v3"
    dproject.cli_json("rollback")
    assert dproject.serve() == (200, "hello from v2\n")
    # status names the live container, its image and the engine's memory figure.
    (back,) = dproject.containers()
    live_status = dproject.cli_json("status")["live"]
    assert isinstance(live_status, dict) and isinstance(back.id, str)
    assert live_status["runs"] == f"container {back.id[:12]} (image bgtest:v2)"
    assert isinstance(live_status["memory_rss"], int) and live_status["memory_rss"] > 0


def test_limits_are_in_the_containers_inspect_data(dproject: DockerProject,
                                                   engine: Engine) -> None:
    engine.tag("v1")
    dproject.resources = 'memory = "64M"\ncpus = 0.5\npids = 64'
    dproject.write_config()
    dproject.cli_json("deploy", "v1")
    (container,) = dproject.containers()
    host = container.attrs["HostConfig"]
    assert host["Memory"] == 64 * 2**20 and host["NanoCpus"] == 500_000_000
    assert host["PidsLimit"] == 64 and host["NetworkMode"] == "host"


def test_unhealthy_image_never_gets_traffic(dproject: DockerProject, engine: Engine) -> None:
    engine.tag("v1")
    engine.tag("bad", mode="unhealthy")
    dproject.write_config(deadline="2s")
    dproject.cli_json("deploy", "v1")
    done = dproject.cli("deploy", "bad")
    assert done.returncode == 4, done.stderr
    assert dproject.serve() == (200, "hello from v1\n")
    assert [c.labels["io.bluegreen.version"] for c in dproject.containers()] == ["v1"]


def test_container_that_exits_fails_at_once_with_its_log(dproject: DockerProject,
                                                         engine: Engine) -> None:
    engine.tag("v1")
    engine.tag("dies", mode="exit")
    dproject.write_config(deadline="60s")
    dproject.cli_json("deploy", "v1")
    done = dproject.cli("deploy", "dies")
    assert done.returncode == 4, done.stderr
    assert "cannot open database" in done.stderr
    assert dproject.serve() == (200, "hello from v1\n")


def test_foreign_container_on_the_idle_port_is_left_running(dproject: DockerProject,
                                                            engine: Engine) -> None:
    engine.tag("v1")
    green = dproject.ports[1]
    stranger = engine.client.containers.run(
        "bgtest:v1", detach=True, network_mode="host", name="somebody-else",
        environment={"PORT": str(green), "BLUEGREEN_VERSION": "theirs"})
    try:
        poll(lambda: get(green)[0] == 200, what="the stranger's container")
        dproject.cli_json("deploy", "v1")  # blue
        done = dproject.cli("deploy", "v2")
        assert done.returncode == 7, done.stderr
        stranger.reload()
        assert stranger.status == "running" and get(green) == (200, "hello from theirs\n")
        assert dproject.serve() == (200, "hello from v1\n")
    finally:
        stranger.remove(force=True)


def test_capacity_refusal_changes_nothing(dproject: DockerProject, engine: Engine) -> None:
    engine.tag("v1")
    engine.tag("v2")
    dproject.cli_json("deploy", "v1")
    before = dproject.state()
    dproject.resources = 'memory = "64T"'
    dproject.write_config()
    done = dproject.cli("deploy", "v2")
    assert done.returncode == 9, done.stderr
    assert "not enough memory to run v2 beside v1: need 64.0 TiB" in done.stderr
    assert dproject.state() == before and len(dproject.containers()) == 1
    assert dproject.serve() == (200, "hello from v1\n")


def test_engine_down_is_exit_10_naming_the_socket(dproject: DockerProject,
                                                  engine: Engine) -> None:
    dproject.engine_url = f"unix://{dproject.root}/no-such.sock"
    dproject.write_config()
    done = dproject.cli("deploy", "v1")
    assert done.returncode == 10, done.stderr
    assert f"{dproject.root}/no-such.sock" in done.stderr


def test_name_conflict_with_a_container_we_did_not_create(dproject: DockerProject,
                                                          engine: Engine) -> None:
    engine.tag("v1")
    squatter = engine.client.containers.create("bgtest:v1", name="bluegreen-dtest-blue")
    try:
        done = dproject.cli("deploy", "v1")
        assert done.returncode == 4, done.stderr
        assert "bluegreen did not create" in done.stderr
        squatter.reload()
        assert squatter.status == "created"
    finally:
        squatter.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        engine.client.containers.get("bluegreen-dtest-blue")


def test_recover_finds_a_killed_deploys_container_by_label(dproject: DockerProject,
                                                           engine: Engine) -> None:
    engine.tag("v1")
    engine.tag("slow", mode="unhealthy")  # never healthy: the deploy waits in its gate
    dproject.cli_json("deploy", "v1")
    dproject.write_config(deadline="60s")
    deploy = _start_deploy(dproject, "slow")
    assert _signal_at(dproject, deploy, "health", signal.SIGKILL) == "health"
    deploy.communicate(timeout=30)
    # As if the kill came before the start was recorded: only the label can find it now.
    path = dproject.state_dir / "state.json"
    doc = json.loads(path.read_text())
    doc["instances"] = [i for i in doc["instances"] if i["version"] != "slow"]
    path.write_text(json.dumps(doc))
    assert sorted(c.labels["io.bluegreen.version"] for c in dproject.containers()) == \
        ["slow", "v1"]
    result = dproject.cli_json("recover")
    assert result["changed"] is True, result
    assert [c.labels["io.bluegreen.version"] for c in dproject.containers()] == ["v1"]
    assert dproject.serve() == (200, "hello from v1\n")


def test_check_reports_the_capacity_figure(dproject: DockerProject, engine: Engine) -> None:
    engine.tag("v1")
    dproject.cli_json("deploy", "v1")
    dproject.resources = 'memory = "64T"'
    dproject.write_config()
    done = dproject.cli("check", "--json")
    items = {i["name"]: i for i in json.loads(done.stdout)["items"]}
    assert items["capacity"]["ok"] is False, items
    assert "needs 64.0 TiB (resources.memory)" in items["capacity"]["detail"]


def test_bridge_network_on_an_engine_without_a_bridge(dproject: DockerProject,
                                                      engine: Engine) -> None:
    """The test engine runs with --bridge=none (it must not touch the host's network). The
    engine still starts a bridge-mode container, but with no bridge the published port is never
    reachable: the health gate is what stops it (exit 4), and nothing is left behind."""
    engine.tag("v1")
    dproject.network = "bridge"
    dproject.write_config(deadline="3s")
    done = dproject.cli("deploy", "v1")
    assert done.returncode == 4, done.stderr
    assert "never became healthy" in done.stderr and "connection refused" in done.stderr
    assert dproject.containers() == [] and dproject.state().get("live") is None
