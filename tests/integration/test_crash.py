"""Crash safety: the CLI killed at any instant, signals at each phase, a host reboot."""

from __future__ import annotations

import json
import random
import shlex
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from helpers import poll
from loadgen import Load

from bluegreen_local.engine import reaperd
from integration.support import Project, get, our_processes, simulate_reboot

pytestmark = pytest.mark.nginx

CHAOS_ITERATIONS = 100
PHASES = ("preflight", "start", "health", "switch", "drain", "stop")


def _journal_phase(project: Project) -> str | None:
    try:
        phase: str = json.loads((project.state_dir / "journal.json").read_text())["phase"]
    except (OSError, ValueError, KeyError):
        return None
    return phase


def _start_deploy(project: Project, version: str) -> subprocess.Popen[str]:
    return subprocess.Popen(project.argv("deploy", version), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _signal_at(project: Project, proc: subprocess.Popen[str], phase: str,
               sig: signal.Signals, jitter: float = 0.0) -> str | None:
    """Send `sig` once the deploy reaches `phase` (or when it ends); return the phase hit."""
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        seen = _journal_phase(project)
        if seen is not None and PHASES.index(seen) >= PHASES.index(phase):
            time.sleep(jitter)
            hit = _journal_phase(project)
            proc.send_signal(sig)
            return hit
        time.sleep(0.001)
    return None


def _our_processes(project: Project) -> set[int]:
    return our_processes(project.state_dir)


def _status(project: Project) -> dict[str, object]:
    """`status --json`, in-process (the same use case and serialisation, without a CLI start)."""
    from bluegreen_local import config
    from bluegreen_local.cli.documents import dump, status_document
    from bluegreen_local.usecases import status as ops

    result = ops.status(config.load(project.config))
    data: dict[str, object] = json.loads(dump(status_document(result)))
    return data


def _assert_coherent(project: Project) -> None:
    status = _status(project)
    live = status["live"]
    assert isinstance(live, dict), status
    assert live["running"] is True and live["healthy"] is True, status
    nginx = status["nginx"]
    assert isinstance(nginx, dict) and nginx["running"] is True, status
    assert nginx["generation_served"] == nginx["generation_rendered"], status
    assert status["problems"] == [], status
    instances = project.state()["instances"]
    assert isinstance(instances, list) and len(instances) == 1, "exactly one instance remains"
    assert instances[0]["role"] == "live", instances
    assert _our_processes(project) == {live["pid"]}, "no process of ours is unaccounted for"
    idle = project.ports[1] if live["slot"] == "blue" else project.ports[0]
    assert get(idle)[0] == 0, "nothing listens on the idle port"


@pytest.mark.slow
def test_chaos_sigkill_at_random_moments_under_load(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(20261122)
    project.cli_json("deploy", "v0")
    kills: Counter[str] = Counter()
    follow_ups = ("deploy", "recover", "recover")
    with Load("127.0.0.1", project.listen_port, threads=4, max_seconds=600) as load:
        load.wait_for(50)
        for i in range(1, CHAOS_ITERATIONS + 1):
            deploy = _start_deploy(project, f"v{i}")
            phase = _signal_at(project, deploy, rng.choice(PHASES), signal.SIGKILL,
                               jitter=rng.uniform(0, 0.03))
            deploy.communicate(timeout=60)
            kills[phase or "finished"] += 1
            follow = follow_ups[i % len(follow_ups)]
            if follow == "deploy":
                project.cli_json("deploy", f"v{i}b")
            else:
                project.cli_json("recover")
            _assert_coherent(project)
        final = project.cli_json("deploy", "final")
        stats = load.stop()
    with capsys.disabled():  # the figures belong in the test log, not only on failure
        print(f"\nchaos: {CHAOS_ITERATIONS} deploys killed, by phase at the kill: "
              f"{dict(kills)}; {stats.sent} requests, {stats.failed} failed "
              f"{dict(stats.failures)}")
    assert final["changed"] is True and project.serve() == (200, "hello from final\n")
    assert stats.failed == 0, dict(stats.failures)
    assert stats.sent > CHAOS_ITERATIONS * 10
    assert len([p for p in PHASES if kills[p]]) >= 5, f"kills must spread over phases: {kills}"


WARM_ITERATIONS = 8


def _assert_topology_matches(project: Project) -> None:
    """Recovery's promise with a warm slot: what runs is exactly what state says runs."""
    status = _status(project)
    live, nginx = status["live"], status["nginx"]
    assert isinstance(live, dict) and live["running"] and live["healthy"], status
    assert isinstance(nginx, dict) and nginx["generation_served"] == nginx["generation_rendered"]
    assert status["problems"] == [], status
    assert _our_processes(project) == project.slot_pids(), "no process of ours unaccounted for"
    instances = project.state()["instances"]
    assert isinstance(instances, list)
    roles = sorted(str(i["role"]) for i in instances)
    assert roles in (["live"], ["live", "warm"]), roles


@pytest.mark.slow
def test_chaos_sigkill_during_rollback_to_a_warm_slot(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(20261202)
    project.write_config()
    with project.config.open("a") as f:
        f.write('[deploy]\nkeep_old = "5m"\n')
    project.cli_json("deploy", "v0")
    kills: Counter[str] = Counter()
    with Load("127.0.0.1", project.listen_port, threads=4, max_seconds=600) as load:
        load.wait_for(50)
        for i in range(1, WARM_ITERATIONS + 1):
            project.cli_json("deploy", f"v{i}")  # leaves v{i-1} (or what recovery kept) warm
            rollback = subprocess.Popen(project.argv("rollback"), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
            phase = _signal_at(project, rollback, rng.choice(("health", "switch", "drain")),
                               signal.SIGKILL, jitter=rng.uniform(0, 0.02))
            rollback.communicate(timeout=60)
            kills[phase or "finished"] += 1
            project.cli_json("recover")
            _assert_topology_matches(project)
        stats = load.stop()
        reaper = reaperd.running(project.state_dir)
        if reaper is not None:
            reaper.kill()
    with capsys.disabled():
        print(f"\nwarm chaos: {WARM_ITERATIONS} rollbacks killed, by phase: {dict(kills)}; "
              f"{stats.sent} requests, {stats.failed} failed {dict(stats.failures)}")
    assert stats.failed == 0, dict(stats.failures)
    assert stats.sent > WARM_ITERATIONS * 10


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("phase", ["start", "health", "switch", "drain"])
def test_signal_at_each_phase(project: Project, sig: signal.Signals, phase: str) -> None:
    project.cli_json("deploy", "v1")
    # A slow start makes the health phase long; a request in flight makes the drain long.
    project.write_config(app_args="--startup-delay 0.5")
    slow = None
    if phase == "drain":
        slow = threading.Thread(target=get, args=(project.listen_port, "/slow?s=2"))
        slow.start()
    deploy = _start_deploy(project, "v2")
    hit = _signal_at(project, deploy, phase, sig)
    _, err = deploy.communicate(timeout=60)
    if slow is not None:
        slow.join(timeout=30)
    assert deploy.returncode == 130, err
    if hit in ("preflight", "start", "health"):
        assert "interrupted before the switch" in err
        assert project.serve() == (200, "hello from v1\n")
    else:
        assert "was finished first" in err
        assert project.serve() == (200, "hello from v2\n")
    assert not (project.state_dir / "journal.json").exists()
    assert len(project.slot_pids()) == 1 and _our_processes(project) == project.slot_pids()


def test_up_restarts_a_killed_live_app_on_the_same_slot(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.cli_json("deploy", "v2")
    pid = project.slot_pids().pop()
    psutil.Process(pid).kill()
    poll(lambda: get(project.ports[1])[0] == 0, what="the app to die")
    status = project.cli_json("status")
    assert "bluegreen up" in " ".join(status["problems"])  # type: ignore[arg-type]
    result = project.cli_json("up")
    assert result["changed"] is True and (result["slot"], result["version"]) == ("green", "v2")
    assert project.serve() == (200, "hello from v2\n")
    assert project.slot_pids() != {pid}
    again = project.cli_json("up")
    assert again["changed"] is False


def test_up_after_a_simulated_reboot(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.cli_json("deploy", "v2")
    simulate_reboot(project)
    result = project.cli_json("up")
    assert (result["slot"], result["version"], result["changed"]) == ("green", "v2", True)
    assert project.serve() == (200, "hello from v2\n")
    _assert_coherent(project)
    history = json.loads(project.cli("history", "--json", "-n", "1").stdout)
    assert history["events"][0]["action"] == "up"


def test_up_with_nothing_deployed_says_so(project: Project) -> None:
    done = project.cli("up")
    assert done.returncode == 2 and "bluegreen deploy VERSION" in done.stderr


def test_status_reports_an_interrupted_deploy_and_recover_undoes_it(project: Project) -> None:
    project.cli_json("deploy", "v1")
    project.write_config(app_args="--startup-delay 1")
    deploy = _start_deploy(project, "v2")
    assert _signal_at(project, deploy, "health", signal.SIGKILL) == "health"
    deploy.communicate(timeout=30)
    before = (project.state_dir / "state.json").read_bytes()
    status = project.cli_json("status")
    problems = status["problems"]
    assert isinstance(problems, list)
    assert "interrupted in phase health" in problems[0] and "bluegreen recover" in problems[0]
    assert (project.state_dir / "state.json").read_bytes() == before, "status changes nothing"
    assert len(_our_processes(project)) == 2, "the killed deploy's new slot is still running"
    result = project.cli_json("recover")
    actions = result["actions"]
    assert isinstance(actions, list) and any("stopped v2 on green" in a for a in actions)
    _assert_coherent(project)
    assert project.serve() == (200, "hello from v1\n")
    assert project.cli_json("recover")["changed"] is False


def _unit_commands(project: Project) -> tuple[list[str], list[str]]:
    """ExecStop and ExecStart of the shipped unit, pointed at this project's config."""
    unit = Path(__file__).parents[2] / "examples/bluegreen-up@.service"
    lines = dict(line.split("=", 1) for line in unit.read_text().splitlines()
                 if line.startswith(("ExecStart=", "ExecStop=")))

    def ours(line: str) -> list[str]:
        argv = shlex.split(line)
        assert argv[0].endswith("/bluegreen") and argv[argv.index("-c") + 1].endswith("%i.toml")
        rest = argv[1:argv.index("-c")] + argv[argv.index("-c") + 2:]
        return project.argv(*rest, "--json")

    return ours(lines["ExecStop"]), ours(lines["ExecStart"])


def test_the_units_stop_then_start_brings_back_what_was_live(project: Project) -> None:
    """systemd runs ExecStop (down) then ExecStart (up): the live version must come back."""
    project.cli_json("deploy", "v1")
    project.cli_json("deploy", "v2")
    stop, start = _unit_commands(project)
    stopped = subprocess.run(stop, capture_output=True, text=True, timeout=120, check=False)
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["changed"] is True
    assert project.serve()[0] == 0, "down stopped the managed nginx"
    started = subprocess.run(start, capture_output=True, text=True, timeout=120, check=False)
    assert started.returncode == 0, started.stderr
    result = json.loads(started.stdout)
    assert (result["version"], result["slot"], result["changed"]) == ("v2", "green", True)
    # Served without a gap once `up` returned: every request of a bounded run answers v2.
    answers = [project.serve() for _ in range(300)]
    assert answers == [(200, "hello from v2\n")] * 300
    _assert_coherent(project)
    # And a deploy after a down/up cycle remembers what it replaces.
    assert project.cli_json("deploy", "v3")["previous"] == {
        "slot": "green", "port": project.ports[1], "version": "v2"}
