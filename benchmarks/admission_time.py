"""How long the admission Rego takes per object (regorus, Gatekeeper's input shape), over the shared cases.

Run with `make bench`. Gatekeeper's own engine (OPA) differs; this measures the rules, not the webhook.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import regorus
import yaml

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 200


def main() -> None:
    print(f"{'rule':<28} {'cases':>5} {'median us/object':>17}")
    for path in sorted((ROOT / "policies" / "cases").glob("*.yaml")):
        suite = yaml.safe_load(path.read_text())
        source = (ROOT / "policies" / "rego" / f"{suite['rego']}.rego").read_text()
        package = next(line.split()[1] for line in source.splitlines() if line.startswith("package "))
        engine = regorus.Engine()
        engine.add_policy(suite["rego"], source)
        samples = []
        for case in suite["cases"]:
            engine.set_input_json(json.dumps({"review": {"object": case["object"]}, "parameters": suite["parameters"]}))
            start = time.perf_counter()
            for _ in range(REPEATS):
                engine.eval_rule_as_json(f"data.{package}.violation")
            samples.append((time.perf_counter() - start) / REPEATS * 1e6)
        print(f"{suite['rule']:<28} {len(suite['cases']):>5} {statistics.median(samples):>17.1f}")


if __name__ == "__main__":
    sys.exit(main())
