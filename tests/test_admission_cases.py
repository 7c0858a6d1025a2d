"""One rule, two engines: every shared case gets the same messages from the pack's CrossGuard rule and from
its Rego (run by regorus, a Rego engine, in Gatekeeper's input shape: input.review.object, input.parameters)."""

from __future__ import annotations

import json

import pytest
import regorus
import yaml

from policies import pack
from tests.planning import ROOT
from tests.policy_harness import R, judge

CASES_DIR = ROOT / "policies" / "cases"
REGO_DIR = ROOT / "policies" / "rego"
TYPE_TOKENS = {
    "Pod": "kubernetes:core/v1:Pod",
    "ConfigMap": "kubernetes:core/v1:ConfigMap",
    **{kind: f"kubernetes:apps/v1:{kind}" for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")},
    **{kind: f"kubernetes:batch/v1:{kind}" for kind in ("Job", "CronJob")},
}
SUITES = {path.stem: yaml.safe_load(path.read_text()) for path in sorted(CASES_DIR.glob("*.yaml"))}
CASES = [(rule, case) for rule, suite in SUITES.items() for case in suite["cases"]]


def rego_violations(suite: dict, obj: dict) -> list[str]:
    engine = regorus.Engine()
    engine.add_policy(suite["rego"], (REGO_DIR / f"{suite['rego']}.rego").read_text())
    engine.set_input_json(json.dumps({"review": {"object": obj}, "parameters": suite["parameters"]}))
    package = next(
        line.split()[1]
        for line in (REGO_DIR / f"{suite['rego']}.rego").read_text().splitlines()
        if line.startswith("package ")
    )
    return sorted(v["msg"] for v in json.loads(engine.eval_rule_as_json(f"data.{package}.violation")))


def crossguard_violations(suite: dict, obj: dict) -> list[str]:
    [rule] = [p for p in pack.POLICIES if p.name == suite["rule"]]
    props = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
    return sorted(judge(rule, [R(TYPE_TOKENS[obj["kind"]], obj["metadata"]["name"], props)]))


@pytest.mark.parametrize(("rule", "case"), CASES, ids=[f"{rule}: {case['name']}" for rule, case in CASES])
def test_both_engines_give_each_case_its_expected_messages(rule, case):
    suite = SUITES[rule]
    expected = sorted(case["violations"])
    assert crossguard_violations(suite, case["object"]) == expected
    assert rego_violations(suite, case["object"]) == expected


def test_every_rego_template_has_cases_and_every_suite_both_verdicts():
    assert {s["rego"] for s in SUITES.values()} == {p.stem for p in REGO_DIR.glob("*.rego")}
    for rule, suite in SUITES.items():
        verdicts = {bool(c["violations"]) for c in suite["cases"]}
        assert verdicts == {True, False}, rule
