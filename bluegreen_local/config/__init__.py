"""Configuration: bluegreen.toml validated once into frozen, typed values."""

from __future__ import annotations

from bluegreen_local.config.loader import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    default_state_dir,
    load,
    parse,
    resolve_path,
)
from bluegreen_local.config.model import (
    AppConfig,
    Config,
    DrainConfig,
    HealthConfig,
    NginxConfig,
)

__all__ = [
    "CONFIG_ENV", "DEFAULT_CONFIG", "AppConfig", "Config", "DrainConfig", "HealthConfig",
    "NginxConfig", "default_state_dir", "load", "parse", "resolve_path",
]
