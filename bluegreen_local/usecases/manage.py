"""Use cases that tidy up or set up: history, down, check, init."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bluegreen_local import nginx, store
from bluegreen_local.config.fields import APP_NAME_RE
from bluegreen_local.config.model import Config
from bluegreen_local.engine import capacity
from bluegreen_local.model.errors import BlueGreenError, CommandError, NginxError, UsageError
from bluegreen_local.model.results import CheckItem, CheckResult, DownResult, HistoryEvent
from bluegreen_local.model.types import Instance, Mode, Release, Slot
from bluegreen_local.nginx import managed, templating
from bluegreen_local.runners import make_runner, slot_port
from bluegreen_local.runners.base import Runner
from bluegreen_local.usecases import onboard
from bluegreen_local.usecases.lookups import lookup_items
from bluegreen_local.util import net
from bluegreen_local.util.clock import now_iso

# -- history ----------------------------------------------------------------------------------


def history(config: Config, limit: int) -> list[HistoryEvent]:
    if limit < 1:
        raise UsageError(failed="-n must be 1 or more")
    return store.read_history(config.state_dir, limit)


# -- down -------------------------------------------------------------------------------------


def down(config: Config, *, wait_lock: float = 0.0) -> DownResult:
    """Stop both slots and, in managed mode, the private nginx."""
    with store.locked(config.state_dir, wait=wait_lock):
        st = store.load(config.state_dir)
        runner = make_runner(config)
        # Traffic leaves nginx first in managed mode, so no client sees a refused upstream.
        nginx_stopped = config.nginx.mode is Mode.MANAGED and managed.stop(config)
        stopped = []
        for inst in st.instances:
            if runner.alive(inst):
                runner.stop(inst, config.app.stop_timeout)
                stopped.append(inst.release)
        # `live` stays: it is what `up` brings back (after a reboot, or systemd's stop/start).
        previous = st.live or st.previous
        store.save(config.state_dir, dataclasses.replace(st, instances=()))
        changed = bool(stopped) or nginx_stopped
        if changed:
            store.append_history(config.state_dir, HistoryEvent(
                time=now_iso(), action="down", outcome="ok", app=config.app.name,
                version=None, slot=None, port=None, previous=previous, user=store.current_user(),
                message=f"stopped {len(stopped)} slot(s)"))
        return DownResult(config.app.name, tuple(stopped), nginx_stopped, changed,
                          _after_down(config, st.live) if changed else "")


def _after_down(config: Config, live: Release | None) -> str:
    back = f"`bluegreen up` starts {live.version} again" if live else "deploy to start a version"
    if config.nginx.mode is Mode.SYSTEM:
        # The operator's nginx still routes the site to our upstream, now with nobody on it.
        return (f"nginx keeps running: the site that proxies to {nginx.upstream_name(config)} "
                f"answers 502 Bad Gateway until `bluegreen up` or the next deploy; {back}")
    return f"the managed nginx is stopped: nothing answers on {config.nginx.listen}; {back}"


# -- check ------------------------------------------------------------------------------------


def check(config: Config) -> CheckResult:
    """Validate config, nginx and ports. Changes nothing, except that in system mode it
    creates the upstream file if there is none (see onboard.upstream_item)."""
    st = store.load(config.state_dir)
    items = [CheckItem("config", True, f"{config.path} is valid"), *lookup_items(config),
             *_nginx_items(config, st)]
    runner = make_runner(config)
    for slot in Slot:
        items.append(_check_port(config, runner, slot, st.instance(slot)))
    items.append(capacity.check_item(config, runner, st.live_instance))
    if config.nginx.mode is Mode.MANAGED and nginx.master_pid(config) is None:
        port = int(config.nginx.listen.rpartition(":")[2])
        free = net.port_is_free(port)
        items.append(CheckItem("listen", free, f"{config.nginx.listen} is "
                               + ("free" if free else "taken by another process")))
    snippet = onboard.site_snippet(config) if config.nginx.mode is Mode.SYSTEM else ""
    return CheckResult(config.app.name, all(i.ok for i in items), tuple(items), snippet)


def _nginx_items(config: Config, st: store.State) -> list[CheckItem]:
    if config.nginx.mode is not Mode.SYSTEM:
        return [_check_nginx(config)]
    # The upstream file first: a site that names our upstream fails nginx -t without it.
    items = [onboard.upstream_item(config, st.live), _check_nginx(config)]
    return items + onboard.site_items(config) if items[-1].ok else items


def _check_port(config: Config, runner: Runner, slot: Slot,
                proc: Instance | None) -> CheckItem:
    port = slot_port(config, slot)
    if proc is not None and runner.alive(proc):
        ours = f"{slot}: ours ({proc.version}, {proc.handle.describe()})"
        return CheckItem(f"port {port}", True, ours)
    if net.port_is_free(port):
        return CheckItem(f"port {port}", True, f"{slot}: free")
    return CheckItem(f"port {port}", False, f"{slot}: taken by a process bluegreen did not start")


def _check_nginx(config: Config) -> CheckItem:
    if config.nginx.mode is Mode.SYSTEM:
        try:
            nginx.test(config)
        except (NginxError, CommandError) as exc:
            return CheckItem("nginx", False, onboard.nginx_hint(config, str(exc)))
        return CheckItem("nginx", True, "the system nginx configuration passes its test")
    import tempfile  # here, not at the top: `status` shares this module and is latency-bound

    with tempfile.TemporaryDirectory(prefix="bgcheck") as tmp:
        trial = _trial_config(config, Path(tmp))
        try:
            managed.prepare_prefix(trial)
            nginx.write_trial(trial)
            nginx.test(trial)
        except BlueGreenError as exc:
            return CheckItem("nginx", False, str(exc))
    return CheckItem("nginx", True, "the managed nginx configuration renders and passes nginx -t")


def _trial_config(config: Config, tmp: Path) -> Config:
    """The same config with every path moved into a scratch directory."""
    prefix = tmp / "nginx"
    ngx = dataclasses.replace(
        config.nginx, admin_socket=prefix / "admin.sock", upstream_file=prefix / "conf/up.conf",
        pid_file=prefix / "nginx.pid", error_log=prefix / "logs/error.log")
    return dataclasses.replace(config, state_dir=tmp, nginx=ngx)


# -- init -------------------------------------------------------------------------------------


def init(path: Path, name: str, *, force: bool = False) -> Path:
    """Write a commented starter config; refuse to overwrite unless forced."""
    if not APP_NAME_RE.fullmatch(name):
        rule = "use a-z 0-9 _ -, starting with a letter or digit"
        raise UsageError(f"invalid app name {name!r}: {rule}", failed=f"invalid app name {name!r}",
                         unchanged="nothing was written", next_step=rule)
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; nothing was written (use --force to replace)",
                         failed=f"{path} already exists", unchanged="nothing was written",
                         next_step="use --force to replace it")
    store.atomic_write(path, templating.render("bluegreen.toml.j2", name=name), mode=0o644)
    return path
