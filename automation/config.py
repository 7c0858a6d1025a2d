"""PlatformConfig to and from what a user writes in `Pulumi.<stack>.yaml`.

The facade never invents config keys: a `PlatformConfig` is turned back into
the camelCase `gpu-platform:platform` object a user would write (defaults and
empty sections left out) and validated again, for the stack it is going to, by
`components/config.py` -- the one place config is parsed.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

import yaml
from gpu_platform.automation.errors import InvalidConfigError
from gpu_platform.components.config import (
    CONFIG_KEY,
    ConfigError,
    GpuPoolConfig,
    PlatformConfig,
    load_platform_config,
)
from pydantic import SecretStr

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "gpu-platform"
PLATFORM_KEY = f"{PROJECT}:{CONFIG_KEY}"


def short_name(stack: str) -> str:
    """`org/project/dev` -> `dev`: the name in URNs, stack files and policy config files."""
    return stack.rsplit("/", 1)[-1]


def to_raw(config: PlatformConfig, *, secrets: bool = True) -> dict[str, Any]:
    """The camelCase object as a user writes it: defaults and empty sections left out.

    Secret values (`SecretStr` fields, such as alert receivers) are in plaintext, or left out
    with `secrets=False`: the stack gets those with `--secret` (see `secret_paths`).
    A derived bucket prefix is not in the object (it stays None), so the stack derives its own.
    """
    found: dict[str, str] = {}
    raw: dict[str, Any] = _pruned(_plain(config.model_dump(by_alias=True, exclude_defaults=True), "", found))
    if not secrets:
        for path in found:
            *parents, leaf = path.split(".")
            node = raw
            for part in parents:
                node = node[part]
            del node[leaf]
        raw = _pruned(raw)
    return raw


def secret_paths(config: PlatformConfig) -> dict[str, str]:
    """Secret values by their path in the platform object (`observability.alerting.slackWebhookUrl`)."""
    found: dict[str, str] = {}
    _plain(config.model_dump(by_alias=True, exclude_defaults=True), "", found)
    return found


def _plain(value: Any, path: str, secrets: dict[str, str]) -> Any:
    """A python-mode dump as JSON values, noting where the secrets are."""
    if isinstance(value, SecretStr):
        secrets[path] = value.get_secret_value()
        return secrets[path]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime.datetime):  # written back as the user wrote it: ISO 8601 in UTC
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _plain(v, f"{path}.{k}" if path else k, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{path}[{i}]", secrets) for i, v in enumerate(value)]
    return value


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v != {}}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def validate(raw: Any, stack: str | None) -> PlatformConfig:
    """`components.config.load_platform_config` for this project, raising InvalidConfigError.

    With no stack, what depends on the stack name (bucket names) is checked when it is known.
    """
    try:
        return load_platform_config(raw, PROJECT, short_name(stack) if stack is not None else None)
    except ConfigError as err:
        raise InvalidConfigError(stack, err.problems) from err


def as_config(config: PlatformConfig | Mapping[str, Any], stack: str) -> PlatformConfig:
    """A PlatformConfig (checked again for this stack) or the raw `platform` mapping a stack file holds."""
    if isinstance(config, PlatformConfig):
        return revalidate(config, stack)
    if isinstance(config, Mapping):
        return validate(dict(config), stack)
    raise InvalidConfigError(
        stack,
        [
            (
                f"config: must be a PlatformConfig or a mapping of the platform's keys "
                f"(as in Pulumi.<stack>.yaml), not {type(config).__name__}"
            )
        ],
    )


def revalidate(config: PlatformConfig, stack: str) -> PlatformConfig:
    """The config as the stack will see it, checked again.

    Catches objects that skipped validation (`model_copy(update=...)`, `model_construct`) and
    checks what depends on the stack name (bucket names).
    """
    return validate(to_raw(config), stack)


def read_stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The `config:` map of `Pulumi.<stack>.yaml` (empty if the file has none)."""
    path = Path(project_dir) / f"Pulumi.{short_name(stack)}.yaml"
    if not path.exists():
        known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in Path(project_dir).glob("Pulumi.*.yaml"))
        raise InvalidConfigError(
            stack, [f"no stack file {path.name} in {project_dir}; known stacks: " + ", ".join(known)]
        )
    return (yaml.safe_load(path.read_text()) or {}).get("config") or {}


def load_config(stack: str, project_dir: Path = PROJECT_DIR) -> PlatformConfig:
    """The validated PlatformConfig of `Pulumi.<stack>.yaml`."""
    return validate(read_stack_file(stack, project_dir).get(PLATFORM_KEY), stack)


def add_gpu_pool(config: PlatformConfig, pool: GpuPoolConfig | Mapping[str, Any]) -> PlatformConfig:
    """A new config with one more GPU pool (camelCase mapping or GpuPoolConfig), validated."""
    raw = to_raw(config)
    entry = (
        pool.model_dump(by_alias=True, mode="json", exclude_defaults=True)
        if isinstance(pool, GpuPoolConfig)
        else dict(pool)
    )
    raw["gpuPools"] = [*raw.get("gpuPools", []), _pruned(entry)]
    # Which stack it goes to is not known yet: bucket names are checked again by `revalidate`.
    return validate(raw, stack=None)
