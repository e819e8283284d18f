"""The docker runner: each slot is a container named bluegreen-<app>-<slot>, labelled with
its app, slot, version and state dir, so a crashed run's containers are found again and
nobody else's are touched."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from bluegreen_local.config.model import AppConfig, DockerConfig, ResourcesConfig
from bluegreen_local.model.errors import RunnerError
from bluegreen_local.model.types import ContainerHandle, Instance, RunnerKind, Slot
from bluegreen_local.runners import containers as spec
from bluegreen_local.store.files import atomic_write, ensure_dir
from bluegreen_local.util import net

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

log = logging.getLogger(__name__)


class DockerRunner:
    """Runs [docker] image per slot through the engine's API (the docker SDK)."""

    kind = RunnerKind.DOCKER

    def __init__(self, app: AppConfig, state_dir: Path, docker_cfg: DockerConfig,
                 limits: ResourcesConfig) -> None:
        self.app = app
        self.state_dir = state_dir
        self.cfg = docker_cfg
        self.limits = limits
        self._engine: docker.DockerClient | None = None

    @property
    def engine(self) -> docker.DockerClient:
        """Connected on first use: `status` of a process-run app never pays for it."""
        if self._engine is None:
            self._engine = spec.connect(self.cfg)
        return self._engine

    def start(self, slot: Slot, port: int, version: str) -> Instance:
        image = spec.image_ref(self.cfg, slot, port, version)
        self._ensure_image(image, slot)
        self._clear_name(slot)
        args = spec.create_args(self.app, self.cfg, self.limits, self.state_dir,
                                (slot, port, version))
        errors = _errors()
        try:
            container = self.engine.containers.run(image, detach=True, **args)
        except errors.APIError as exc:
            raise RunnerError(f"cannot start {slot} from image {image}: "
                              f"{exc.explanation or exc}. Nothing else was changed; check "
                              "the [docker] settings.") from None
        container.reload()
        pid = int(container.attrs["State"].get("Pid") or 0)
        handle = ContainerHandle(container.id or "", container.name or "", pid)
        log.info("started %s (%s) from %s", handle.name, handle.describe(), image)
        return Instance(slot, port, version, time.time(), handle)

    def _ensure_image(self, image: str, slot: Slot) -> None:
        errors = _errors()
        if self.cfg.pull != "always":
            try:
                self.engine.images.get(image)
                return
            except errors.ImageNotFound:
                if self.cfg.pull == "never":
                    raise RunnerError(
                        f"image {image} is not on this host and docker.pull = \"never\"; "
                        f"{slot} was not started and nothing was changed. Load the image "
                        "(docker load / docker pull), or allow docker.pull.") from None
        try:
            self.engine.images.pull(image)
        except errors.APIError as exc:
            raise RunnerError(f"cannot pull image {image}: {exc.explanation or exc}. {slot} "
                              "was not started and nothing was changed; check the image "
                              "name and the registry.") from None

    def _clear_name(self, slot: Slot) -> None:
        """Our stopped or stray container of this slot goes; a stranger's stops us."""
        name = spec.container_name(self.app, slot)
        found = self._get(name)
        if found is None:
            return
        if found.labels.get(spec.LABEL_STATE_DIR) != str(self.state_dir):
            raise RunnerError(
                f"a container named {name} exists ({found.short_id}, {found.status}) that "
                f"bluegreen did not create for {self.state_dir}. Nothing was changed; "
                "rename or remove that container, or rename the app (app.name).")
        self._save_logs(found, slot)
        found.remove(force=True)

    def _get(self, ref: str) -> Container | None:
        with contextlib.suppress(_errors().NotFound):
            return self.engine.containers.get(ref)
        return None

    def _container(self, inst: Instance) -> Container | None:
        handle = inst.handle
        if not isinstance(handle, ContainerHandle):  # pragma: no cover - one kind per app
            return None
        return self._get(handle.container_id)

    def alive(self, inst: Instance) -> bool:
        """Running, and not reported unhealthy by the image's own HEALTHCHECK."""
        found = self._container(inst)
        if found is None:
            return False
        state: dict[str, Any] = found.attrs.get("State", {})
        health = (state.get("Health") or {}).get("Status")
        return bool(state.get("Running")) and not state.get("Restarting") \
            and health != "unhealthy"

    def stop(self, inst: Instance, grace: float) -> None:
        """docker stop with the grace, then remove; the image stays for a rollback."""
        found = self._container(inst)
        if found is None:
            return
        log.info("stopping %s (%s)", found.name, inst.handle.describe())
        with contextlib.suppress(_errors().NotFound):
            found.stop(timeout=max(1, round(grace)))
            self._save_logs(found, inst.slot)
            found.remove(force=True)

    def _save_logs(self, found: Container, slot: Slot) -> None:
        """Keep the engine's log of a container we remove in logs/<slot>.log."""
        with contextlib.suppress(_errors().APIError):
            data: bytes = found.logs(timestamps=True)
            ensure_dir(self.log_path(slot).parent)
            atomic_write(self.log_path(slot), data.decode("utf-8", errors="replace"))

    def port_holder(self, port: int, instances: Iterable[Instance]) -> Instance | None:
        """Ours if one of the instances publishes the port, or (host network) a process in
        the container listens on it."""
        listeners = set(net.listener_pids(port))
        for inst in instances:
            found = self._container(inst)
            if found is None:
                continue
            if _publishes(found, port) or _family(found) & listeners:
                return inst
        return None

    def log_path(self, slot: Slot) -> Path:
        """Where a removed container's log is kept (the engine has the running one's)."""
        return self.state_dir / "logs" / f"{slot}.log"

    def log_tail(self, slot: Slot, lines: int = 20) -> str:
        found = self._get(spec.container_name(self.app, slot))
        if found is None:
            return ""
        with contextlib.suppress(_errors().APIError):
            data: bytes = found.logs(tail=lines)
            return data.decode("utf-8", errors="replace").rstrip("\n")
        return ""

    def strays(self, known: Iterable[Instance]) -> list[Instance]:
        """Containers labelled with our state dir that state does not record."""
        known_ids = {i.handle.container_id for i in known
                     if isinstance(i.handle, ContainerHandle)}
        found = []
        ours = f"{spec.LABEL_STATE_DIR}={self.state_dir}"
        filters: dict[str, str | list[str] | bool] = {"label": ours}
        for cont in self.engine.containers.list(all=True, filters=filters):
            if cont.id in known_ids:
                continue
            with contextlib.suppress(KeyError, ValueError):
                labels = cont.labels
                handle = ContainerHandle(cont.id or "", cont.name or "",
                                         int(cont.attrs["State"].get("Pid") or 0))
                found.append(Instance(Slot(labels[f"{spec.LABEL}.slot"]),
                                      int(labels[f"{spec.LABEL}.port"]),
                                      labels[f"{spec.LABEL}.version"], 0.0, handle))
        return found

    def memory(self, inst: Instance) -> int | None:
        """The container's memory usage as its cgroup counts it."""
        found = self._container(inst)
        if found is None or not found.attrs.get("State", {}).get("Running"):
            return None
        with contextlib.suppress(_errors().APIError, KeyError, TypeError):
            stats = found.stats(stream=False, one_shot=True)
            if isinstance(stats, dict):
                return int(stats["memory_stats"]["usage"])
        return None


def _publishes(found: Container, port: int) -> bool:
    bindings = found.attrs.get("NetworkSettings", {}).get("Ports") or {}
    return any(str(b.get("HostPort")) == str(port)
               for entries in bindings.values() for b in entries or ())


def _family(found: Container) -> set[int]:
    pid = int(found.attrs.get("State", {}).get("Pid") or 0)
    if pid <= 0:
        return set()
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        return {pid, *(c.pid for c in root.children(recursive=True))}
    return set()


def _errors() -> Any:
    import docker.errors

    return docker.errors
