"""A private docker engine for the tests: dockerd on its own socket, data root, exec root and
pidfile (no bridge, no iptables: it must not touch the host's network), and a tiny image
imported from a busybox-static root filesystem, since no registry is reachable."""

from __future__ import annotations

import contextlib
import io
import shutil
import signal
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import docker
from helpers import poll

IMAGE: Final = "bgtest"
# The app: serves "hello from <version>" on / and /health with busybox httpd on $PORT.
# MODE=unhealthy serves no /health (404); MODE=exit quits at once, saying why.
APP_SH: Final = """#!/bin/sh
echo "app $BLUEGREEN_VERSION starting on port $PORT (mode ${MODE:-ok})"
if [ "${MODE:-ok}" = exit ]; then echo "cannot open database: gone"; exit 3; fi
mkdir -p /tmp/www
echo "hello from $BLUEGREEN_VERSION" > /tmp/www/index.html
[ "${MODE:-ok}" = unhealthy ] || echo ok > /tmp/www/health
exec httpd -f -p "127.0.0.1:$PORT" -h /tmp/www
"""
APPLETS: Final = ("sh", "httpd", "echo", "mkdir", "cat", "sleep")


@dataclass
class Engine:
    """The running test engine: its address, its client, the dockerd process."""

    url: str
    client: docker.DockerClient
    process: subprocess.Popen[bytes]
    root: Path

    def tag(self, version: str, *, mode: str = "ok") -> str:
        """An image `bgtest:<version>` (the same files; MODE baked into its environment)."""
        ref = f"{IMAGE}:{version}"
        base = self.client.images.get(f"{IMAGE}:base")
        if mode == "ok":
            base.tag(IMAGE, version)
            return ref
        container = self.client.containers.create(f"{IMAGE}:base", environment={"MODE": mode})
        try:
            container.commit(IMAGE, version, changes=[f"ENV MODE={mode}"])
        finally:
            container.remove(force=True)
        return ref

    def remove_containers(self) -> None:
        for container in self.client.containers.list(all=True):
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)


def start(root: Path, dockerd: str) -> Engine:
    root.mkdir(parents=True, exist_ok=True)
    sock = root / "docker.sock"
    log = (root / "dockerd.log").open("wb")
    process = subprocess.Popen(
        [dockerd, "--host", f"unix://{sock}", "--data-root", str(root / "data"),
         "--exec-root", str(root / "exec"), "--pidfile", str(root / "dockerd.pid"),
         "--bridge=none", "--iptables=false", "--ip-masq=false"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"unix://{sock}"
    # A fixed API version: "auto" would ask the engine in the constructor, before it listens.
    client = docker.DockerClient(base_url=url, timeout=60, version="1.41")
    poll(lambda: process.poll() is not None or _pings(client), timeout=60,
         what=f"dockerd on {sock}")
    if process.poll() is not None:
        raise RuntimeError(f"dockerd exited: {(root / 'dockerd.log').read_text()[-2000:]}")
    engine = Engine(url, client, process, root)
    _import_base(engine)
    return engine


def stop(engine: Engine) -> None:
    engine.remove_containers()
    engine.client.close()
    engine.process.send_signal(signal.SIGTERM)
    try:
        engine.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        engine.process.kill()
        engine.process.wait()
    # dockerd leaves its default network namespace mounted under the exec root.
    netns = engine.root / "exec/netns/default"
    if netns.exists():
        subprocess.run(["umount", str(netns)], check=False, capture_output=True)
    shutil.rmtree(engine.root, ignore_errors=True)


def _pings(client: docker.DockerClient) -> bool:
    try:
        return bool(client.ping())
    except (docker.errors.DockerException, OSError):  # requests' errors are OSErrors
        return False


def _import_base(engine: Engine) -> None:
    """busybox-static's binary and the app script, as a tar imported as bgtest:base."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        tar.add(busybox, arcname="bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        script = APP_SH.encode()
        info = tarfile.TarInfo("app.sh")
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))
        tmp = tarfile.TarInfo("tmp")
        tmp.type, tmp.mode = tarfile.DIRTYPE, 0o1777
        tar.addfile(tmp)
    engine.client.api.import_image_from_data(data.getvalue(), repository=IMAGE, tag="base",
                                             changes=['CMD ["/app.sh"]'])
