"""Admission in the cluster: Gatekeeper's release, templates and Constraints as the plan declares them, judged
with Gatekeeper's own schemas (tests/upstream/gatekeeper/) and run with a Rego engine on what users apply."""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from gpu_platform.components import admission
from gpu_platform.components.config import RESERVED_NAMESPACES, ConfigError, load_platform_config
from gpu_platform.components.node_labels import SYSTEM_LABEL

from policies.gpu import pools_of
from tests.chart_values import keys_the_chart_lacks
from tests.planning import MINIMAL, PROJECT, ROOT, Plan, with_changes
from tests.rego import Template

UPSTREAM = ROOT / "tests" / "upstream" / "gatekeeper"
TEMPLATE = "kubernetes:templates.gatekeeper.sh/v1:ConstraintTemplate"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI v3 schema of a CRD as JSON Schema that refuses unknown fields, as `kubectl --validate=strict`
    does: objects with declared properties and no x-kubernetes-preserve-unknown-fields allow nothing else."""
    schema = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes-")} | (
        {"additionalProperties": False}
        if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields")
        else {}
    )
    if "properties" in schema:
        schema["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        schema["items"] = strict(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = strict(schema["additionalProperties"])
    return schema


def crd_schema(path: str, version: str) -> dict[str, Any]:
    crd = next(d for d in yaml.safe_load_all((UPSTREAM / path).read_text()) if d)
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version]
    return strict(served["schema"]["openAPIV3Schema"])


def templates(plan: Plan) -> dict[str, dict[str, Any]]:
    """Constraint kind -> the ConstraintTemplate's inputs."""
    return {t["inputs"]["spec"]["crd"]["spec"]["names"]["kind"]: t["inputs"] for t in plan.of_type(TEMPLATE)}


def constraints(plan: Plan) -> list[dict[str, Any]]:
    return [r for r in plan.resources if r["type"].startswith("kubernetes:constraints.gatekeeper.sh/v1beta1:")]


def namespace_object(plan: Plan, name: str) -> dict[str, Any]:
    found = [n["inputs"] for n in plan.of_type(NAMESPACE) if n["inputs"]["metadata"]["name"] == name]
    return found[0] if found else {"metadata": {"name": name}}


def admit(plan: Plan, obj: dict[str, Any], operation: str = "CREATE") -> dict[str, list[str]]:
    """Each of the plan's Constraints that matches `obj`, with the messages its template's Rego (as the plan
    ships it) gives `obj` under the Constraint's parameters: what Gatekeeper would answer the API server."""
    namespace = obj["metadata"].get("namespace", "default")
    answers: dict[str, list[str]] = {}
    for c in constraints(plan):
        spec = c["inputs"]["spec"]
        kinds = {k for m in spec["match"]["kinds"] for k in m["kinds"]}
        if obj["kind"] not in kinds or namespace in spec["match"]["excludedNamespaces"]:
            continue
        source = templates(plan)[c["inputs"]["kind"]]["spec"]["targets"][0]["code"][0]["source"]
        review = {
            "object": obj,
            "operation": operation,
            "namespace": namespace,
            "namespaceObject": namespace_object(plan, namespace),
        }
        messages = Template(source).violations(review, spec["parameters"])
        if messages:
            answers[c["inputs"]["metadata"]["name"]] = messages
    return answers


def server(namespace: str, pool: str, resource: str, **labels: str) -> dict[str, Any]:
    """A model server Deployment as a team writes it, on `pool`, asking for one `resource`."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "llm", "namespace": namespace},
        "spec": {
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {"gpu-platform.io/pool": pool},
                    "tolerations": [{"key": "nvidia.com/gpu", "value": pool, "effect": "NoSchedule"}],
                    "containers": [
                        {
                            "name": "server",
                            "resources": {"requests": {"cpu": "4", "memory": "32Gi"}, "limits": {resource: 1}},
                        }
                    ],
                },
            }
        },
    }


COST = {"cost-center": "search", "product": "search", "environment": "prod", "workload-type": "inference"}


def test_gatekeeper_is_pinned_and_every_pod_and_hook_runs_on_the_system_pool(prod_plan: Plan):
    [release] = [r["inputs"] for r in prod_plan.of_type(RELEASE) if r["inputs"]["chart"] == "gatekeeper"]
    assert (release["version"], release["repositoryOpts"]["repo"], release["namespace"]) == (
        "3.23.0",
        "https://open-policy-agent.github.io/gatekeeper/charts",
        "gatekeeper-system",
    )
    values = release["values"]
    for part in ("controllerManager", "audit", "crds", "postInstall", "postUpgrade", "preUninstall"):
        assert values[part]["nodeSelector"][SYSTEM_LABEL] == "true", part
    system = [g for g in prod_plan.of_type("aws:eks/nodeGroup:NodeGroup") if SYSTEM_LABEL in g["inputs"]["labels"]]
    assert system and all(g["inputs"]["labels"][SYSTEM_LABEL] == "true" for g in system)
    [namespace] = [n["inputs"] for n in prod_plan.of_type(NAMESPACE) if n["inputs"]["metadata"]["name"] == NS]
    # the chart exempts its own namespace from the webhook (--exempt-namespace), so this label is honoured
    assert "admission.gatekeeper.sh/ignore" in namespace["metadata"]["labels"]


NS = admission.NAMESPACE


def test_gatekeepers_metrics_are_scraped(prod_plan: Plan):
    [monitor] = prod_plan.of_type("kubernetes:monitoring.coreos.com/v1:PodMonitor")
    spec = monitor["inputs"]["spec"]
    assert monitor["inputs"]["metadata"]["namespace"] == NS
    assert spec["selector"]["matchLabels"] == {"gatekeeper.sh/system": "yes"}
    assert [e["port"] for e in spec["podMetricsEndpoints"]] == ["metrics"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_template_passes_gatekeepers_crd_schema_and_ships_the_repos_rego(stack, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    schema = crd_schema("constrainttemplate-customresourcedefinition.yaml", "v1")
    found = templates(plan)
    assert set(found) == {r.kind for r in admission.RULES}
    for kind, template in found.items():
        jsonschema.validate(template, schema)
        assert template["metadata"]["name"] == kind.lower()  # Gatekeeper refuses any other name
        [rule] = [r for r in admission.RULES if r.kind == kind]
        [code] = template["spec"]["targets"][0]["code"]
        assert code["source"] == admission.rego_source(rule) and code["source"]["version"] == "v1"
        # pulumi-kubernetes waits until Gatekeeper has made the Constraint's CRD
        assert template["metadata"]["annotations"]["pulumi.com/waitFor"] == "jsonpath={.status.created}=true"


def test_a_misspelt_template_field_fails_the_crd_schema(prod_plan: Plan):
    template = copy.deepcopy(next(iter(templates(prod_plan).values())))
    template["spec"]["targets"][0]["taget"] = template["spec"]["targets"][0].pop("target")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(template, crd_schema("constrainttemplate-customresourcedefinition.yaml", "v1"))


@pytest.mark.parametrize(("stack", "action"), [("dev", "dryrun"), ("prod", "deny")])
def test_constraints_match_gatekeepers_schema_and_enforce_as_the_stack_says(stack, action, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    match = crd_schema("match-crd.yaml", "match")["properties"]["embeddedMatch"]
    found = constraints(plan)
    assert {c["inputs"]["metadata"]["name"] for c in found} == {r.name for r in admission.RULES}
    for c in found:
        spec = c["inputs"]["spec"]
        assert spec["enforcementAction"] == action
        jsonschema.validate(spec["match"], match)
        template = templates(plan)[c["inputs"]["kind"]]
        jsonschema.validate(
            spec["parameters"], strict(template["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"])
        )
        # created only once its template (and so its CRD) is
        template_urn = next(t["urn"] for t in plan.of_type(TEMPLATE) if t["inputs"] is template)
        assert template_urn in c["dependencies"]


def test_the_placement_constraint_describes_the_pools_the_pack_reads_from_the_node_groups(prod_plan: Plan):
    [placement] = [c for c in constraints(prod_plan) if c["inputs"]["metadata"]["name"] == "gpu-placement"]
    described = {
        p["name"]: (
            tuple((t["key"], t["value"], t["effect"]) for t in p["taints"]),
            {a["resource"]: a["count"] for a in p["advertised"]},
        )
        for p in placement["inputs"]["spec"]["parameters"]["pools"]
    }

    class Seen:  # what the pack's pools_of reads: a resource's type and properties
        def __init__(self, r: dict[str, Any]) -> None:
            self.resource_type, self.props = r["type"], r.get("inputs", {})

    seen = pools_of([Seen(r) for r in prod_plan.resources])
    assert described == {name: (pool.taints, dict(pool.advertised)) for name, pool in seen.items()}
    assert set(described) == {"h100-mig", "l40s-shared"}


def test_prod_admits_a_team_server_on_its_pool(prod_plan: Plan):
    assert admit(prod_plan, server("search", "h100-mig", "nvidia.com/mig-1g.10gb", **COST)) == {}
    assert admit(prod_plan, server("recsys", "l40s-shared", "nvidia.com/gpu", **COST)) == {}


def test_prod_refuses_what_a_chart_renders_without_cost_labels(prod_plan: Plan):
    unlabelled = server("search", "h100-mig", "nvidia.com/mig-1g.10gb", app="llm")
    assert admit(prod_plan, unlabelled) == {
        "workload-labels": [
            "llm: pod template labels missing or empty: cost-center, product, environment, workload-type"
        ]
    }


def test_prod_refuses_a_gpu_pod_outside_team_namespaces_and_on_another_teams_pool(prod_plan: Plan):
    assert admit(prod_plan, server("default", "l40s-shared", "nvidia.com/gpu", **COST)) == {
        "gpu-namespaces": [
            (
                "llm: asks for nvidia.com/gpu in namespace 'default', which is not a GPU namespace "
                "(a team's or the platform's inference namespace)"
            )
        ]
    }
    assert admit(prod_plan, server("recsys", "h100-mig", "nvidia.com/mig-1g.10gb", **COST)) == {
        "gpu-namespaces": [
            "llm: selects GPU pool 'h100-mig', which namespace 'recsys' may not use; it may use: l40s-shared"
        ]
    }


def test_prod_refuses_a_resource_the_pool_does_not_advertise(prod_plan: Plan):
    assert admit(prod_plan, server("search", "h100-mig", "nvidia.com/gpu", **COST)) == {
        "gpu-placement": [
            (
                "llm: asks for nvidia.com/gpu, which GPU pool 'h100-mig' does not advertise "
                "(it advertises nvidia.com/mig-1g.10gb=56)"
            )
        ]
    }


def test_exempt_namespaces_are_the_platforms_own_and_no_team_can_take_one():
    assert set(admission.EXEMPT_NAMESPACES) <= set(RESERVED_NAMESPACES)
    raw = with_changes(MINIMAL, {"teams": [{"name": "monitoring"}]})
    with pytest.raises(ConfigError) as error:
        load_platform_config(raw, PROJECT, "test")
    assert "monitoring is a namespace Kubernetes or the platform owns" in str(error.value)


def test_an_unknown_enforcement_names_the_field_and_the_choices():
    with pytest.raises(ConfigError) as error:
        load_platform_config(with_changes(MINIMAL, {"admission": {"enforcement": "block"}}), PROJECT, "test")
    message = str(error.value)
    assert "admission.enforcement" in message and "deny" in message and "dryrun" in message


def test_admission_can_be_turned_off():
    plan = Plan.of_config(with_changes(MINIMAL, {"admission": {"enabled": False}}))
    assert not plan.of_type(TEMPLATE) and not constraints(plan)
    assert not [r for r in plan.of_type(RELEASE) if r["inputs"]["chart"] == "gatekeeper"]


def test_every_chart_value_the_platform_sets_is_one_the_chart_has():
    values = admission.chart_values({"cost-center": "x"})
    # nodeSelector and podLabels: maps of the user's own keys
    assert keys_the_chart_lacks(values, UPSTREAM / "values.yaml", ("nodeSelector", "podLabels")) == []


def test_the_templates_libraries_are_where_gatekeeper_allows_them():
    # Gatekeeper puts libraries under data.lib and lets templates import nothing else (frameworks
    # regorewriter: allowed lib packages, checkImport).
    for rule in admission.RULES:
        source = admission.rego_source(rule)
        for lib in source["libs"]:
            [package] = [line.split()[1] for line in lib.splitlines() if line.startswith("package ")]
            assert package.startswith("lib."), package
        imports = [line.split()[1] for line in source["rego"].splitlines() if line.startswith("import ")]
        assert all(i.startswith("data.lib.") for i in imports), imports


def test_a_gpu_pod_is_judged_when_created_and_its_own_updates_pass(prod_plan: Plan):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "debug", "namespace": "default", "labels": COST},
        "spec": {
            "nodeSelector": {"gpu-platform.io/pool": "l40s-shared"},
            "tolerations": [{"key": "nvidia.com/gpu", "value": "l40s-shared", "effect": "NoSchedule"}],
            "containers": [
                {
                    "name": "shell",
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"nvidia.com/gpu": 1}},
                }
            ],
        },
    }
    assert list(admit(prod_plan, pod)) == ["gpu-namespaces"]
    # a pod that got in (Gatekeeper down, or before the rule) can still lose its finalizers, get a debug container
    assert admit(prod_plan, pod, operation="UPDATE") == {}
    assert list(admit(prod_plan, server("default", "l40s-shared", "nvidia.com/gpu", **COST), "UPDATE")) == [
        "gpu-namespaces"
    ]  # a workload's update is judged


def test_gatekeepers_alerts_pass_promtool_and_ship_beside_its_scrape(prod_plan: Plan, tmp_path: Path):
    [rule] = [
        r
        for r in prod_plan.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        if r["inputs"]["metadata"]["namespace"] == NS
    ]
    assert rule["inputs"]["spec"]["groups"] == admission.rule_groups()
    promtool = Path(os.environ.get("PROMTOOL", ROOT / ".tools/prometheus/usr/bin/promtool"))
    assert promtool.exists(), f"promtool not found at {promtool}: run `make test`, which installs it"
    path = tmp_path / "admission.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": admission.rule_groups()}))
    result = subprocess.run([str(promtool), "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and f"SUCCESS: {len(admission.ALERTS)} rules found" in result.stdout, result.stdout
    # the alerts read the PodMonitor's job, named <namespace>/<name> by prometheus-operator
    [monitor] = prod_plan.of_type("kubernetes:monitoring.coreos.com/v1:PodMonitor")
    job = f"{monitor['inputs']['metadata']['namespace']}/{monitor['inputs']['metadata']['name']}"
    assert f'job="{job}"' in admission.ALERTS[0].expr
