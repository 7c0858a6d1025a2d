"""How long the offline policy review takes: the prod plan as it is, and padded to 5,000 resources.

The review runs the pack as the engine does (a subprocess spoken to over gRPC); the pack
starts once, then each document is reviewed. Run with `make bench`.
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REPEATS = 3


def padded(document: dict, size: int) -> dict:
    """The document with copies of one subnet (each its own URN) until it holds `size` resources."""
    bigger = copy.deepcopy(document)
    resources = bigger["deployment"]["resources"]
    subnet = next(r for r in resources if r["type"] == "aws:ec2/subnet:Subnet")
    for i in range(size - len(resources)):
        clone = copy.deepcopy(subnet)
        clone["urn"] = f"{subnet['urn']}-copy-{i}"
        resources.append(clone)
    return bigger


def main() -> None:
    from gpu_platform.offline import plan, review
    from gpu_platform.offline.engine import run_program

    document = plan.deployment(run_program(ROOT, "prod"))
    start = time.perf_counter()
    analyzer = review.Analyzer()
    started = time.perf_counter() - start
    try:
        print(f"{'what':<40} {'median s':>9} {'min s':>7}")
        print(f"{'start the policy pack (once)':<40} {started:>9.3f} {started:>7.3f}")
        for label, doc in (("review prod plan", document), ("review 5,000 resources", padded(document, 5000))):
            samples = []
            for _ in range(REPEATS):
                t = time.perf_counter()
                report = review.review(Path("plan.json"), doc, analyzer)
                samples.append(time.perf_counter() - t)
            label = f"{label} ({report.resources} res, {len(report.findings)} findings)"
            print(f"{label:<40} {statistics.median(samples):>9.3f} {min(samples):>7.3f}")
    finally:
        analyzer.close()


if __name__ == "__main__":
    main()
