"""The versions the project is tested with are written once, and every install agrees with them."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.version import Version

from tests.planning import ROOT


def _pins(path: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / path).read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_the_policy_packs_pins_agree_with_the_projects():
    constraints, pack = _pins("constraints.txt"), _pins("policies/requirements.txt")
    assert pack and all(constraints[name] == version for name, version in pack.items()), (pack, constraints)


def test_every_tested_version_is_inside_the_range_a_service_may_install():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ranges = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}
    constraints = _pins("constraints.txt")
    assert set(ranges) <= set(constraints), set(ranges) - set(constraints)
    for name, requirement in ranges.items():
        assert requirement.specifier.contains(Version(constraints[name]), prereleases=True), (name, requirement)


def test_the_installs_apply_the_constraints_and_install_the_project():
    assert (ROOT / "requirements.txt").read_text().splitlines()[-2:] == ["-c constraints.txt", "-e ."]
    assert "-c constraints.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()


def test_an_installed_copy_carries_every_file_the_program_and_the_pack_read():
    """Package data is listed by glob (pyproject.toml); a new folder of Rego or cases must be listed too, or an
    installed copy's Gatekeeper templates would lack it."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    policies = ROOT / "policies"
    shipped = {p for pattern in data["gpu_platform.policies"] for p in policies.glob(pattern)}
    needed = {
        *policies.glob("rego/**/*.rego"),
        *policies.glob("cases/*.yaml"),
        *policies.glob("config/*.json"),
        *policies.glob("*.json"),
    }
    assert needed and needed <= shipped
