"""`make mutation`: mutmut 3.8.1 seeds bugs in the modules whose mistakes hurt users most, and counts how many the
tests catch, file by file, each file with the tests that judge it.

mutmut names a mutant by its file's path under `src/` and puts its `mutants/src` copy first on sys.path, so the
run gets a workspace (build/mutation/run/) where the project is laid out as it is imported:
`src/gpu_platform/...` (the package) and `src/policies/...` (the pack, the name the tests and the pack's own
analyzer process import it by; `src/gpu_platform/policies` points at it). The tests run from that copy; the
files they read (stacks, README, promtool) come from the checkout. One mutmut run covers the chosen files with
the test files that judge them (one stats collection); mutmut then runs, for each mutant, only those tests that
called the mutated function, until one fails (tests/conftest.py orders them: those that build nothing, then
those on a shared plan, then those that build their own, each group quickest first).

    python tools/mutation.py [--max-children N] [file ...]     # files as in TARGETS; default: all

Prints, per file, killed / total and the surviving mutants (`mutmut show <name>` in the workspace shows one).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutation"
POLICY_TESTS = (
    "tests/test_policies.py",
    "tests/test_policy_shapes.py",
    "tests/test_admission_cases.py",
    "tests/test_cost.py",
)

# file -> the test files that judge it (mutmut narrows these to the tests that call each mutated function)
TARGETS: dict[str, tuple[str, ...]] = {
    "components/sharing.py": ("tests/test_gpu_pools.py", "tests/test_config.py", "tests/test_inference.py"),
    "components/catalog.py": ("tests/test_gpu_pools.py", "tests/test_config.py", "tests/test_cluster_lifecycle.py"),
    "components/iam.py": (
        "tests/test_security.py",
        "tests/test_storage_irsa.py",
        "tests/test_policies.py",
        "tests/test_independent_judges.py",  # cfn-lint reads every IAM document the plan carries
        "tests/test_network.py",  # the flow-log role's trust policy, statement by statement
    ),
    **{
        f"policies/{name}.py": POLICY_TESTS
        for name in ("budget", "cost", "gpu", "iam", "nodes", "prod", "shapes", "storage", "tags", "tenancy")
    },
}
# What the tests read from the project folder: links to the checkout in the workspace's copy.
CHECKOUT_FILES = (
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "Pulumi.prod.yaml",
    "__main__.py",
    "README.md",
    "requirements.txt",
    "requirements-dev.txt",
    "constraints.txt",
    ".github",
    ".tools",
)


# `mutmut run`, its pass over the unmutated code made a baseline of what mutants get: the same tests in the
# order tests/conftest.py gives them against a mutant (a name no function has), which must pass, or a test
# that depends on order would pass for a kill.
RUN_MUTMUT = """
import os, sys
from mutmut.workers.isolation import ForkRunner
clean = ForkRunner.run_clean_tests
def baseline(self, tests):
    os.environ["MUTANT_UNDER_TEST"] = "baseline.x_none__mutmut_0"
    try:
        return clean(self, tests)
    finally:
        os.environ["MUTANT_UNDER_TEST"] = ""
ForkRunner.run_clean_tests = baseline
from mutmut.__main__ import cli
cli(["run", *sys.argv[1:]])
"""


@dataclass
class Score:
    path: str
    killed: int
    total: int
    survivors: dict[str, list[str]]  # name -> the lines it changes (- before, + after)
    seconds: float
    timeouts: int = 0  # counted as killed, as mutmut counts them; shown, since a loaded machine also times out

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 100.0


def package_files() -> list[Path]:
    """The tracked files of the package, as a fresh clone has them (no venvs, caches or build output)."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    skip = ("tests/", ".github/", "tools/", "benchmarks/", ".ci/")
    return [Path(p) for p in listed.splitlines() if not p.startswith(skip) and (ROOT / p).is_file()]


def mutated_path(target: str) -> str:
    """Where mutmut finds `target` in the workspace: the pack under src/policies, the rest under src/gpu_platform."""
    return "src/" + (target if target.startswith("policies/") else f"gpu_platform/{target}")


def workspace(targets: list[str]) -> Path:
    """build/mutation/run: src/ laid out as imported, the tests, mutmut's config for `targets`."""
    place = WORK / "run"
    shutil.rmtree(place, ignore_errors=True)
    for path in package_files():
        inside = path if path.parts[0] == "policies" else "gpu_platform" / path
        destination = place / "src" / inside
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, destination)
    (place / "src" / "gpu_platform" / "policies").symlink_to(Path("..") / "policies")
    shutil.copytree(ROOT / "tests", place / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pytest.ini", place / "pytest.ini")
    tests = sorted({test for target in targets for test in TARGETS[target]})
    settings = (
        "[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {json.dumps([mutated_path(t) for t in targets])}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q"]\n'
        'also_copy = ["pytest.ini"]\n'
    )
    (place / "pyproject.toml").write_text(settings)
    # mutmut copies src/ and the tests into mutants/ and runs there: the rest points at the checkout
    (place / "mutants").mkdir()
    # A test's subprocess (the offline CLI, the pack) shares nothing with mutmut's process: while mutmut collects
    # which tests call what, a mutated function there would try to record the call, from a folder (a project the
    # test wrote) with no mutmut settings. It runs the original functions then; against a mutant, the mutant.
    (place / "site").mkdir()
    (place / "site" / "sitecustomize.py").write_text(
        "import os\n\nif os.environ.get('MUTANT_UNDER_TEST') == 'stats':\n    os.environ['MUTANT_UNDER_TEST'] = ''\n"
    )
    for name in CHECKOUT_FILES:
        if (ROOT / name).exists():
            (place / "mutants" / name).symlink_to(ROOT / name)
    (place / "mutants" / "policies").symlink_to(Path("src") / "policies")
    for package in ("offline", "automation", "components"):  # `python -m offline ...` from the project folder
        (place / "mutants" / package).symlink_to(Path("src") / "gpu_platform" / package)
    # mutmut copies files, not the link to the pack (os.walk does not follow it): the copy gets its own
    (place / "mutants" / "src" / "gpu_platform").mkdir(parents=True)
    (place / "mutants" / "src" / "gpu_platform" / "policies").symlink_to(Path("..") / "policies")
    return place


def score(place: Path, target: str, seconds: float) -> Score:
    from mutmut.stats import status_by_exit_code  # mutmut's own reading of a mutant's exit code

    meta = json.loads((place / "mutants" / f"{mutated_path(target)}.meta").read_text())
    exit_codes: dict[str, int | None] = meta["exit_code_by_key"]
    killed = [name for name, code in exit_codes.items() if status_by_exit_code[code] in ("killed", "timeout")]
    survivors = {name: changed_lines(place, target, name) for name in sorted(exit_codes) if name not in killed}
    timeouts = sum(status_by_exit_code[code] == "timeout" for code in exit_codes.values())
    return Score(target, len(killed), len(exit_codes), survivors, seconds, timeouts)


def changed_lines(place: Path, target: str, mutant: str) -> list[str]:
    """What a mutant changes, as `mutmut show` prints it, without the diff's headers."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    with contextlib.chdir(place):
        diff = get_diff_for_mutant(mutant, path=mutated_path(target))
    return [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def run(targets: list[str], max_children: int) -> list[Score]:
    place = workspace(targets)
    # the tests' own subprocesses (the offline CLI, the pack) import the mutated copy too
    paths = os.pathsep.join(str(p) for p in (place / "mutants" / "src", place / "site"))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": paths}
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", RUN_MUTMUT, "--max-children", str(max_children)], cwd=place, env=env, check=True
    )
    seconds = time.monotonic() - start
    return [score(place, target, seconds) for target in targets]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help=f"some of: {', '.join(TARGETS)}")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--at-least", type=float, default=95.0, help="the score each file must reach")
    args = parser.parse_args()
    unknown = [f for f in args.files if f not in TARGETS]
    if unknown:
        parser.error(f"not a mutation target: {', '.join(unknown)}; targets: {', '.join(TARGETS)}")
    scores = run(args.files or list(TARGETS), args.max_children)
    lines = [f"mutation score per file (killed/mutants), one run of {scores[0].seconds:.0f} s"]
    lines += [
        f"  {s.path:28} {s.killed:4}/{s.total:<4} {s.percent:5.1f}%"
        + (f" ({s.timeouts} timed out)" if s.timeouts else "")
        for s in scores
    ]
    for s in scores:
        for name, changes in s.survivors.items():
            lines += [
                f"  survived: {name}",
                *(f"      {change.strip()[:1]} {change[1:].strip()}" for change in changes),
            ]
    low = [s.path for s in scores if s.percent < args.at_least]
    lines += [f"below {args.at_least}%: {', '.join(low)}"] if low else []
    report = "\n".join(lines)
    print(f"\n{report}")
    (WORK / "report.txt").write_text(report + "\n")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
