"""The README's Automation example runs as written, and its field lists are the results' fields."""

from __future__ import annotations

import dataclasses
import re

import pytest
from gpu_platform.automation import PlanResult, PulumiCliNotFoundError, UpdateResult

from tests.planning import ROOT

README = (ROOT / "README.md").read_text()


def _example() -> str:
    section = README.split("## Driving the platform from code (Automation API)", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def _listed(result: str) -> set[str]:
    row = next(line for line in README.splitlines() if f"`{result}` (" in line)
    listed = row.split(f"`{result}` (", 1)[1].rsplit(")", 1)[0]
    return set(re.findall(r"`(\w+)`", listed))


def test_the_readme_example_plans_offline_and_reaches_the_cli_only_for_up(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_STATE_PASSPHRASE", "")  # an empty passphrase is a valid one
    monkeypatch.setenv("PATH", str(tmp_path))  # no CLI: plan() must not need it, up() says so
    namespace: dict = {}
    exec(compile(_example(), "README.md", "exec"), namespace)  # noqa: S102 - the README's own example, run as written
    with pytest.raises(PulumiCliNotFoundError, match="get.pulumi.com"):
        namespace["give_team_a_gpu_pool"]("team-a", state_dir=str(tmp_path / "state"))


@pytest.mark.parametrize("result", [PlanResult, UpdateResult])
def test_the_readme_lists_the_fields_of_each_result(result):
    fields = {f.name for f in dataclasses.fields(result)}
    properties = {name for name, value in vars(result).items() if isinstance(value, property)}
    assert _listed(result.__name__) == fields | properties
