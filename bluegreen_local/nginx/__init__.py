"""The nginx adapter: context (names, specs), files (render, swap in), control (master,
workers, test, reload) and confirm (the generation nginx serves). Callers use this facade; the
managed nginx's own lifecycle is `nginx.managed`."""

from __future__ import annotations

from bluegreen_local.nginx.confirm import (
    confirm,
    generation,
    remove_confirm_socket,
    served_generation,
)
from bluegreen_local.nginx.context import (
    Rendered,
    confirm_socket,
    generation_var,
    main_spec,
    parse_rendered,
    read_rendered,
    upstream_name,
    upstream_spec,
)
from bluegreen_local.nginx.control import (
    Worker,
    log_size,
    main_conf,
    managed_argv,
    master_pid,
    new_log_errors,
    signal_reload,
    test,
    test_argv,
    worker_alive,
    workers,
)
from bluegreen_local.nginx.files import (
    desired_files,
    file_specs,
    files_current,
    installed,
    record_installed,
    render,
    render_all,
    render_site_snippet,
    write_trial,
)

__all__ = [
    "Rendered", "Worker", "confirm", "confirm_socket", "desired_files", "file_specs",
    "files_current", "generation", "generation_var", "installed", "log_size", "main_conf",
    "main_spec", "managed_argv", "master_pid", "new_log_errors", "parse_rendered",
    "read_rendered", "record_installed", "remove_confirm_socket", "render",
    "render_all", "render_site_snippet", "served_generation", "signal_reload", "test", "test_argv",
    "upstream_name", "upstream_spec", "worker_alive", "workers", "write_trial",
]
