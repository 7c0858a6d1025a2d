"""How long an offline plan takes, next to the cost of importing the SDKs alone.

Each figure is the median of several fresh processes (cold: imports included),
plus the median of in-process runs (warm: the program and engine alone).
Run with `make bench`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REPEATS = 5
IMPORTS = "import pulumi, pulumi_aws, pulumi_eks, pulumi_kubernetes, pydantic"
# The program's own modules, and the pulumi_aws service modules it touches (loaded on first access).
IMPORTS_USED = IMPORTS + (
    "; import components.platform; pulumi_aws.ec2.Vpc, pulumi_aws.iam.Role,"
    " pulumi_aws.cloudwatch.LogGroup, pulumi_aws.vpc.SecurityGroupIngressRule,"
    " pulumi_aws.s3.Bucket, pulumi_aws.kms.Key, pulumi_aws.eks.Addon"
)


def seconds_of(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def median_of(fn, repeats: int = REPEATS) -> tuple[float, float]:
    samples = [fn() for _ in range(repeats)]
    return statistics.median(samples), min(samples)


def main() -> None:
    from gpu_platform.offline import plan
    from gpu_platform.offline.engine import run_program

    rows = [
        ("import SDKs only (cold process)", median_of(lambda: seconds_of([sys.executable, "-c", IMPORTS]))),
        ("import everything the program uses", median_of(lambda: seconds_of([sys.executable, "-c", IMPORTS_USED]))),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for stack in ("dev", "prod"):
            argv = [sys.executable, "-m", "offline", "plan", "--stack", stack, "--out", f"{tmp}/{stack}.json"]
            rows.append((f"plan {stack} (cold process, CLI)", median_of(lambda argv=argv: seconds_of(argv))))
    for stack in ("dev", "prod"):

        def warm(stack: str = stack) -> float:
            start = time.perf_counter()
            plan.dumps(plan.deployment(run_program(ROOT, stack)))
            return time.perf_counter() - start

        warm()
        rows.append((f"plan {stack} (warm, in process)", median_of(warm, repeats=10)))

    # Many pools: 28 is the most a cluster holds with the system group (EKS quota: 30 managed node groups per
    # cluster, and the offline rules refuse more), so the scaling is measured from 4 to 28, not to 64.
    from tests.planning import MINIMAL, stack_config, with_changes

    def pools_config(count: int):
        pool = {
            "instanceTypes": ["g6.xlarge"],
            "size": {"maxSize": 2},
            "sharing": {"mode": "time-slicing", "replicas": 4},
        }
        return stack_config(with_changes(MINIMAL, {"gpuPools": [{**pool, "name": f"p{i}"} for i in range(count)]}))

    for count in (4, 28):
        config = pools_config(count)

        def many(config=config) -> float:
            start = time.perf_counter()
            plan.dumps(plan.deployment(run_program(ROOT, "test", config)))
            return time.perf_counter() - start

        many()
        rows.append((f"plan {count} GPU pools (warm)", median_of(many, repeats=3)))

    from gpu_platform.offline import rules as aws_rules

    strict_rows = {}
    for stack in ("dev", "prod"):
        resources = run_program(ROOT, stack).resources

        def strict(resources=resources) -> float:
            start = time.perf_counter()
            aws_rules.refusals(resources)
            return time.perf_counter() - start

        strict_rows[stack] = f"strict AWS rules {stack} ({len(resources)} res.)"
        rows.append((strict_rows[stack], median_of(strict, repeats=20)))

    print(f"{'what':<36} {'median s':>9} {'min s':>7}")
    for label, (median, best) in rows:
        print(f"{label:<36} {median:>9.3f} {best:>7.3f}")
    figures = dict(rows)
    ratio = figures["plan 28 GPU pools (warm)"][0] / figures["plan 4 GPU pools (warm)"][0]
    print(f"28 GPU pools take {ratio:.1f}x the time of 4 (7x the pools)")
    for stack in ("dev", "prod"):
        share = figures[strict_rows[stack]][0] / figures[f"plan {stack} (warm, in process)"][0]
        print(f"strict AWS rules add {share:.1%} to a warm plan of {stack} (and less to a cold `make plan`)")


if __name__ == "__main__":
    main()
