"""deploy --dry-run: the plan's decisions against a faked world, and that it writes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bluegreen_local import config, nginx, store
from bluegreen_local.cli.app import app
from bluegreen_local.engine import deployment
from bluegreen_local.engine.deployment import Deployment
from bluegreen_local.engine.phases import quiet
from bluegreen_local.model.errors import PortConflictError, UsageError
from bluegreen_local.model.results import Plan, PortUse
from bluegreen_local.model.types import (
    Instance,
    Phase,
    ProcessHandle,
    Release,
    Role,
    Route,
    Slot,
    live_routes,
)
from bluegreen_local.probes import health
from bluegreen_local.probes.http import Probe
from bluegreen_local.store import journal
from bluegreen_local.store.files import atomic_write, ensure_dir
from bluegreen_local.store.state import State
from bluegreen_local.usecases import plan as planning
from bluegreen_local.util import net

BLUE = Instance(Slot.BLUE, 7001, "v1", 1.0, ProcessHandle(100, 1.0), Role.LIVE)
STALE = Instance(Slot.GREEN, 7002, "v0", 2.0, ProcessHandle(200, 2.0))  # no role: a leftover
TOKEN = "3-beef"


class Started(Exception):
    """A dry run reached for the runner's start or stop: it must never."""


@dataclass
class World:
    """What the fakes answer: live pids, their trees, listeners, nginx and health."""

    running: set[int] = field(default_factory=set)
    trees: dict[int, set[int]] = field(default_factory=dict)
    listeners: dict[int, set[int]] = field(default_factory=dict)  # port -> pids
    master: int | None = None
    served: str | None = None
    healthy: bool = True

    # -- the Runner interface, as far as a plan may use it -------------------------------

    def alive(self, inst: Instance) -> bool:
        return inst.handle.pid in self.running

    def port_holder(self, port: int, instances: Iterable[Instance]) -> Instance | None:
        holders = self.listeners.get(port, set())
        return next((i for i in instances if self.alive(i)
                     and holders & self.trees.get(i.handle.pid, {i.handle.pid})), None)

    def memory(self, inst: Instance) -> int | None:
        return 1 if self.alive(inst) else None  # the capacity check: a tiny live slot

    def start(self, *_args: object) -> Instance:
        raise Started

    def stop(self, *_args: object) -> None:
        raise Started


@pytest.fixture
def cfg(config_file: Path) -> config.Config:
    return config.load(config_file)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    w = World()
    for module in (planning, deployment):
        monkeypatch.setattr(module, "make_runner", lambda _cfg: w)
    monkeypatch.setattr(nginx, "master_pid", lambda _cfg: w.master)
    monkeypatch.setattr(nginx, "served_generation", lambda *_: w.served)
    monkeypatch.setattr(nginx, "test", lambda _cfg: None)
    monkeypatch.setattr(health, "probe", lambda *_: Probe(200 if w.healthy else 503))
    monkeypatch.setattr(net, "port_is_free", lambda port: port not in w.listeners)
    monkeypatch.setattr(net, "listener_pids", lambda port: w.listeners.get(port, set()))
    monkeypatch.setattr(net, "describe_listeners", lambda port: "pid 9 (nc -l)")
    yield w


def deployed(cfg: config.Config, w: World, *others: Instance) -> None:
    """v1 live on blue at generation 3: state, nginx files, a running master serving it."""
    store.save(cfg.state_dir, State(3, TOKEN, BLUE.release, (BLUE, *others)))
    for path, text in nginx.desired_files(cfg, live_routes(BLUE.release), TOKEN).items():
        ensure_dir(path.parent)
        atomic_write(path, text)
    w.running |= {BLUE.handle.pid, *(i.handle.pid for i in others)}
    w.listeners[BLUE.port] = {BLUE.handle.pid}
    w.master, w.served = 4242, TOKEN


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def diff_of(plan: Plan, name: str) -> str:
    return next(f.diff for f in plan.files if f.path.endswith(name))


# -- the decision ------------------------------------------------------------------------------


def test_before_the_first_deploy(cfg: config.Config, world: World) -> None:
    plan = planning.plan_deploy(cfg, "v1")
    assert (plan.noop, plan.slot, plan.port, plan.live) == (False, Slot.BLUE, 7001, None)
    assert (plan.idle_port, plan.nginx_running, plan.refusal) == (PortUse.FREE, False, None)
    assert (plan.generation, plan.placeholder) == ("1-xxxxxxxx", "xxxxxxxx")
    assert [f.diff.splitlines()[0] for f in plan.files] == ["--- /dev/null"] * 2
    assert "+    server 127.0.0.1:7001 max_fails=0;" in diff_of(plan, "upstream.conf")
    assert not cfg.state_dir.exists(), "a dry run creates nothing, not even the state dir"


def test_the_live_version_is_a_noop_and_writes_nothing(cfg: config.Config, world: World,
                                                       tmp_path: Path) -> None:
    deployed(cfg, world)
    before = snapshot(tmp_path)
    plan = planning.dry_run(cfg, "v1")
    assert (plan.noop, plan.slot, plan.port, plan.live) == (True, Slot.BLUE, 7001, BLUE.release)
    assert (plan.idle_port, plan.generation, plan.placeholder) == (None, TOKEN, None)
    assert [f.diff for f in plan.files] == ["", ""]
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(("version", "force"), [("v2", False), ("v1", True)])
def test_a_new_version_or_force_plans_the_idle_slot(cfg: config.Config, world: World,
                                                    version: str, force: bool) -> None:
    deployed(cfg, world)
    plan = planning.plan_deploy(cfg, version, force=force)
    assert (plan.noop, plan.slot, plan.port, plan.live) == (False, Slot.GREEN, 7002, BLUE.release)
    assert plan.generation == "4-xxxxxxxx" and plan.idle_port is PortUse.FREE
    upstream = diff_of(plan, "upstream.conf")
    assert "-    server 127.0.0.1:7001 max_fails=0;" in upstream
    assert "+    server 127.0.0.1:7002 max_fails=0;" in upstream
    assert f"+# generation 4-xxxxxxxx: live green (version {version}, port 7002)" in upstream
    assert diff_of(plan, "nginx.conf") == "", "the main config does not depend on the release"


def _unserved(w: World) -> None:
    w.served = "2-old"


def _unhealthy(w: World) -> None:
    w.healthy = False


def _dead(w: World) -> None:
    w.running.clear()


@pytest.mark.parametrize("spoil", [_unserved, _unhealthy, _dead])
def test_the_decision_is_the_deploys_own(cfg: config.Config, world: World,
                                         spoil: Callable[[World], None]) -> None:
    """The same world, asked through the plan and through a real Deployment."""
    deployed(cfg, world)
    for broken in (False, True):
        if broken:
            spoil(world)
        noop = planning.plan_deploy(cfg, "v1").noop
        run = Deployment(cfg, quiet, "deploy")
        try:
            result = run._run(store.load(cfg.state_dir), "v1", force=False, recovered=())
        except Started:
            result = None
        assert noop is (not broken) is (result is not None and not result.changed)


@pytest.mark.parametrize("st", [
    State(),
    State(3, TOKEN, BLUE.release, (BLUE,)),
    State(3, TOKEN, BLUE.release, (BLUE, STALE.with_role(Role.STAGED))),
    State(3, TOKEN, None, (STALE.with_role(Role.CANARY, weight=10),)),
])
def test_the_diff_renders_the_routes_the_switch_would(st: State) -> None:
    target = Slot.GREEN if st.live else Slot.BLUE
    new = Instance(target, 7009, "v9", 9.0, ProcessHandle(900, 9.0))
    switched: tuple[Route, ...] = st.without(target).with_instance(new).make_live(new).routes()
    assert planning._routes_after(st, target, 7009, "v9") == switched


# -- the idle port -----------------------------------------------------------------------------


@pytest.mark.parametrize(("alive", "holders", "expected"), [
    (True, {200}, PortUse.STALE),  # our leftover holds it: the deploy stops it first
    (True, {201}, PortUse.STALE),  # its child holds it
    (True, None, PortUse.STALE),  # recorded and running, port free: stopped all the same
    (False, None, PortUse.FREE),  # exited: recovery forgets it
    (True, {9}, PortUse.FOREIGN),  # someone else holds the port beside our leftover
    (False, {9}, PortUse.FOREIGN),
])
def test_the_idle_ports_holder(cfg: config.Config, world: World, alive: bool,
                               holders: set[int] | None, expected: PortUse) -> None:
    deployed(cfg, world, STALE)
    world.trees[STALE.handle.pid] = {200, 201}
    if not alive:
        world.running.discard(STALE.handle.pid)
    if holders is not None:
        world.listeners[STALE.port] = holders
    plan = planning.plan_deploy(cfg, "v2")
    assert plan.idle_port is expected
    assert (plan.refusal is not None) is (expected is PortUse.FOREIGN)


def test_a_foreign_listener_exits_7_and_changes_nothing(cfg: config.Config, world: World,
                                                        tmp_path: Path) -> None:
    deployed(cfg, world)
    world.listeners[7002] = {9}
    before = snapshot(tmp_path)
    with pytest.raises(PortConflictError) as caught:
        planning.dry_run(cfg, "v2")
    assert caught.value.exit_code == 7
    assert str(caught.value).startswith("dry run: the deploy would refuse: port 7002 (green "
                                        "slot) is taken by pid 9 (nc -l)")
    assert snapshot(tmp_path) == before
    # A no-op deploy never looks at the idle port, so neither does its plan.
    assert planning.dry_run(cfg, "v1").noop


def test_a_managed_nginx_that_must_start_needs_its_listen_port(cfg: config.Config,
                                                              world: World) -> None:
    world.listeners[8080] = {9}
    refusal = planning.plan_deploy(cfg, "v1").refusal
    assert refusal is not None and refusal.startswith("nginx.listen 127.0.0.1:8080 is taken")
    world.master = 4242  # already running: the deploy reloads it and never binds the port
    assert planning.plan_deploy(cfg, "v1").refusal is None


def test_a_left_journal_is_reported(cfg: config.Config, world: World) -> None:
    deployed(cfg, world)
    journal.write(cfg.state_dir, journal.Journal("deploy", "v2", Phase.START, 1, "now",
                                                 Release(Slot.GREEN, 7002, "v2")))
    assert planning.plan_deploy(cfg, "v1").recovery_pending
    journal.clear(cfg.state_dir)
    assert not planning.plan_deploy(cfg, "v1").recovery_pending


def test_a_bad_version_is_refused_as_by_deploy(cfg: config.Config, world: World) -> None:
    with pytest.raises(UsageError):
        planning.plan_deploy(cfg, "v1;rm")


def test_the_diff_marks_a_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text("a\nb", encoding="utf-8")
    assert planning._diff(path, "a\nb\n").splitlines()[-3:] == [
        "-b", "\\ No newline at end of file", "+b"]
    assert planning._diff(path, "a\nb") == ""


# -- through the CLI ---------------------------------------------------------------------------


def test_the_cli_prints_the_plan(config_file: Path, world: World) -> None:
    done = CliRunner().invoke(app, ["deploy", "v1", "--check", "--json", "-c", str(config_file)])
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert (document["changed"], document["noop"], document["dry_run"]) == (True, False, True)
    assert document["nginx_diff"].startswith("--- /dev/null\n")
    human = CliRunner().invoke(app, ["deploy", "v1", "--dry-run", "-c", str(config_file)])
    assert human.exit_code == 0 and human.stdout.startswith("dry run: would start v1 on blue")
    assert "+    server 127.0.0.1:7001 max_fails=0;" in human.stdout
    assert human.stdout.rstrip().endswith("nothing was changed")


def test_the_cli_exits_as_the_deploy_would(config_file: Path, world: World) -> None:
    world.listeners[7001] = {9}
    taken = CliRunner().invoke(app, ["deploy", "v1", "--dry-run", "--json", "-c",
                                     str(config_file)])
    assert taken.exit_code == 7
    assert json.loads(taken.stdout)["kind"] == "port"
    config_file.write_text("[app]\nname = 'web'\n", encoding="utf-8")
    broken = CliRunner().invoke(app, ["deploy", "v1", "--check", "--json", "-c",
                                      str(config_file)])
    assert broken.exit_code == 3 and json.loads(broken.stdout)["kind"] == "config"


def test_help_says_it_changes_nothing() -> None:
    text = CliRunner().invoke(app, ["deploy", "--help"], terminal_width=200).stdout
    assert "--dry-run" in text and "--check" in text and "Ansible" in text
    assert "Change nothing" in text
