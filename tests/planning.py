"""Build plans for tests and read them the way a reviewer would: by type, name and property."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from gpu_platform.offline import plan
from gpu_platform.offline.engine import Recording, StackConfig, read_stack_config, run_program
from gpu_platform.offline.wire import SECRET_SIG, SPECIAL_SIG

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "gpu-platform"

MINIMAL = {
    "environment": "dev",
    "region": "us-east-1",
    "labels": {"costCenter": "ml-platform", "product": "inference"},
}


REMOVE = object()  # with_changes: take the key out


def with_changes(base: dict, changes: dict) -> dict:
    """A copy of `base` with dotted paths set (`{"network.azCount": 6}`); REMOVE takes a key out."""
    result = copy.deepcopy(base)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = result
        for part in parents:
            node = node.setdefault(part, {})
        if value is REMOVE:
            node.pop(last, None)
        else:
            node[last] = value
    return result


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_config(stack: str) -> StackConfig:
    """The config of the tests' own stack `dev` or `prod` (tests/fixtures/Pulumi.<stack>.yaml)."""
    return read_stack_config(FIXTURES, stack)


def fixture_platform(stack: str) -> dict[str, Any]:
    """The raw `platform` object of a fixture stack."""
    return yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())["config"][f"{PROJECT}:platform"]


def plan_project(tmp_path: Path, stack: str, files: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Write a Pulumi project of `files` and plan it with `python -m offline plan`, as a user would; the run
    and where its plan would be."""
    project = tmp_path / "project"
    project.mkdir()
    for name, text in files.items():
        (project / name).write_text(text)
    out = tmp_path / "plan.json"
    run = subprocess.run(
        [sys.executable, "-m", "offline", "plan", "--stack", stack, "--project", str(project), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return run, out


def stack_config(platform: Any) -> StackConfig:
    """A stack's config: the platform object, and `aws:region` as `pulumi new` sets it for the default provider."""
    from gpu_platform.components.config import secrets_set

    region = platform.get("region") if isinstance(platform, dict) else None
    # Secret values are set with `pulumi config set --secret --path`, which makes the platform key secret.
    secret = [f"{PROJECT}:platform"] if secrets_set(platform) else []
    return StackConfig(
        {f"{PROJECT}:platform": json.dumps(platform), **({"aws:region": region} if isinstance(region, str) else {})},
        secret,
    )


@dataclass
class Plan:
    """A deployment document with lookups by type and logical name."""

    document: dict[str, Any]
    recording: Recording | None = None  # what the engine saw beyond the export (resource options)

    @classmethod
    def of_stack(cls, stack: str) -> Plan:
        """The plan of the tests' own `dev` or `prod` stack (tests/fixtures/), not of the committed stack file."""
        recording = run_program(ROOT, stack, fixture_config(stack))
        return cls(plan.deployment(recording), recording)

    @classmethod
    def of_config(cls, platform: dict, stack: str = "test") -> Plan:
        recording = run_program(ROOT, stack, stack_config(platform))
        return cls(plan.deployment(recording), recording)

    def ignored_changes(self, resource: dict[str, Any]) -> list[str]:
        """The resource's ignoreChanges option, which `pulumi stack export` does not record."""
        assert self.recording is not None
        return next(r.ignore_changes for r in self.recording.resources if r.urn == resource["urn"])

    @property
    def resources(self) -> list[dict[str, Any]]:
        return self.document["deployment"]["resources"]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_]

    def named(self, type_: str, name: str) -> dict[str, Any]:
        found = [r for r in self.of_type(type_) if r["urn"].rsplit("::", 1)[1] == name]
        assert len(found) == 1, f"expected one {type_} named {name}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> dict[str, Any]:
        return next(r for r in self.resources if r["urn"] == urn)

    def by_id(self, id_: str) -> dict[str, Any]:
        return next(r for r in self.resources if r.get("id") == id_)

    @property
    def outputs(self) -> dict[str, Any]:
        return self.of_type("pulumi:pulumi:Stack")[0]["outputs"]


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SPECIAL_SIG) == SECRET_SIG
