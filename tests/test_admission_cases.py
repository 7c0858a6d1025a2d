"""One rule, two engines: every shared case gets the same messages from the pack's CrossGuard rule and from
its Rego (run by regorus, a Rego engine, in Gatekeeper's input shape: input.review.object, .namespace,
.namespaceObject, input.parameters), loaded exactly as the ConstraintTemplate ships it (module and libs)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from gpu_platform.components.admission import REGO_DIR, RULES, AdmissionRule, rego_source

from policies import pack
from policies.shapes import ADVERTISED_TAG, GPU_POOL_LABEL, NAMESPACE_TYPE
from tests.planning import ROOT
from tests.policy_harness import R, judge
from tests.rego import Template

CASES_DIR = ROOT / "policies" / "cases"
TYPE_TOKENS = {
    "Pod": "kubernetes:core/v1:Pod",
    "ConfigMap": "kubernetes:core/v1:ConfigMap",
    **{kind: f"kubernetes:apps/v1:{kind}" for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")},
    **{kind: f"kubernetes:batch/v1:{kind}" for kind in ("Job", "CronJob")},
}
EKS_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
SUITES = {path.stem: yaml.safe_load(path.read_text()) for path in sorted(CASES_DIR.glob("*.yaml"))}
CASES = [(rule, case) for rule, suite in SUITES.items() for case in suite["cases"]]


def admission_rule(suite: dict) -> AdmissionRule:
    [rule] = [r for r in RULES if r.name == suite["rule"]]
    return rule


def review(case: dict) -> dict[str, Any]:
    """What Gatekeeper hands a template: the object, its namespace's name and object (the API server's)."""
    namespace = case.get("namespace") or {"metadata": {"name": case["object"]["metadata"].get("namespace", "default")}}
    return {"object": case["object"], "namespace": namespace["metadata"]["name"], "namespaceObject": namespace}


def rego_violations(suite: dict, case: dict) -> list[str]:
    return Template(rego_source(admission_rule(suite))).violations(review(case), suite["parameters"])


def stack_context(suite: dict, case: dict) -> list[R]:
    """What the pack sees besides the workload: the stack's GPU node groups (the pools the Constraint's
    parameters describe) and the namespace the workload is in."""
    context = [
        R(
            "aws:eks/nodeGroup:NodeGroup",
            pool["name"],
            {
                "labels": {GPU_POOL_LABEL: pool["name"]},
                "taints": [{**t, "effect": EKS_EFFECTS[t["effect"]]} for t in pool["taints"]],
                "tags": {ADVERTISED_TAG: " ".join(f"{a['resource']}={a['count']}" for a in pool["advertised"])},
            },
        )
        for pool in suite["parameters"].get("pools", [])
    ]
    if "namespace" in case:
        context.append(R(NAMESPACE_TYPE, f"namespace-{case['namespace']['metadata']['name']}", case["namespace"]))
    return context


def crossguard_violations(suite: dict, case: dict) -> list[str]:
    [rule] = [p for p in pack.POLICIES if p.name == suite["rule"]]
    obj = case["object"]
    props = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
    workload = R(TYPE_TOKENS[obj["kind"]], obj["metadata"]["name"], props)
    return sorted(judge(rule, [workload, *stack_context(suite, case)]))


@pytest.mark.parametrize(("rule", "case"), CASES, ids=[f"{rule}: {case['name']}" for rule, case in CASES])
def test_both_engines_give_each_case_its_expected_messages(rule, case):
    suite = SUITES[rule]
    expected = sorted(case["violations"])
    assert crossguard_violations(suite, case) == expected
    assert rego_violations(suite, case) == expected


def test_every_rego_template_has_cases_and_every_suite_both_verdicts():
    assert {s["rego"] for s in SUITES.values()} == {p.stem for p in REGO_DIR.glob("*.rego")}
    assert {s["rule"] for s in SUITES.values()} == {r.name for r in RULES}
    for rule, suite in SUITES.items():
        verdicts = {bool(c["violations"]) for c in suite["cases"]}
        assert verdicts == {True, False}, rule
