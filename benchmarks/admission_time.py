"""How long each admission template's Rego takes per object (regorus, Gatekeeper's input shape), over its
shared cases, loaded as the ConstraintTemplate ships it (module and libraries).

Run with `make bench`. Gatekeeper's own engine (OPA) differs; this measures the rules, not the webhook.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpu_platform.components.admission import RULES, rego_source

from tests.rego import Template
from tests.test_admission_cases import review

REPEATS = 200


def main() -> None:
    print(f"{'rule':<28} {'cases':>5} {'median us/object':>17} {'slowest case us':>16}")
    for rule in RULES:
        suite = yaml.safe_load((ROOT / "policies" / "cases" / f"{rule.name}.yaml").read_text())
        template = Template(rego_source(rule))
        samples = []
        for case in suite["cases"]:
            start = time.perf_counter()
            for _ in range(REPEATS):
                template.violations(review(case), suite["parameters"])
            samples.append((time.perf_counter() - start) / REPEATS * 1e6)
        print(f"{rule.name:<28} {len(suite['cases']):>5} {statistics.median(samples):>17.1f} {max(samples):>16.1f}")


if __name__ == "__main__":
    sys.exit(main())
