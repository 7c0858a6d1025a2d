"""Teams get a namespace each, held in by a quota, defaults, network policies and a namespace-only role."""

from __future__ import annotations

import json

import pytest
from gpu_platform.components.config import RESERVED_NAMESPACES, ConfigError, load_platform_config

from tests.planning import MINIMAL, PROJECT, Plan, fixture_platform, with_changes

L4_POOL = {"name": "l4", "instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing", "replicas": 4}}
MEMBER = "arn:aws:iam::123456789012:role/search-engineers"
TEAM = {
    "name": "search",
    "costCenter": "search-cc",
    "gpuPools": ["l4"],
    "quota": {"gpus": {"nvidia.com/gpu": 4}, "cpu": "8", "memory": "32Gi", "pods": 20},
    "memberRoleArns": [MEMBER],
}


@pytest.fixture(scope="module")
def teams_plan() -> Plan:
    return Plan.of_config(with_changes(MINIMAL, {"gpuPools": [L4_POOL], "teams": [TEAM, {"name": "recsys"}]}))


def in_namespace(plan: Plan, type_: str, namespace: str) -> dict[str, dict]:
    return {
        r["inputs"]["metadata"]["name"]: r
        for r in plan.of_type(type_)
        if r["inputs"]["metadata"].get("namespace") == namespace
    }


def test_a_team_namespace_carries_its_cost_labels_and_enforces_restricted_pod_security(teams_plan):
    [namespace] = [
        n for n in teams_plan.of_type("kubernetes:core/v1:Namespace") if n["inputs"]["metadata"]["name"] == "search"
    ]
    labels = namespace["inputs"]["metadata"]["labels"]
    assert labels["cost-center"] == "search-cc" and labels["product"] == "inference"  # product from the stack
    assert labels["environment"] == "dev" and labels["gpu-platform.io/team"] == "search"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_quota_counts_gpu_cpu_memory_requests_and_pods_and_allows_no_published_services(teams_plan):
    quotas = in_namespace(teams_plan, "kubernetes:core/v1:ResourceQuota", "search")
    # Kubernetes allows only `requests.` quota items for extended resources (docs, "Resource Quotas"); no
    # LoadBalancer or NodePort services.
    assert quotas["team-quota"]["inputs"]["spec"]["hard"] == {
        "requests.nvidia.com/gpu": "4",
        "requests.cpu": "8",
        "requests.memory": "32Gi",
        "pods": "20",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }
    [defaults] = in_namespace(teams_plan, "kubernetes:core/v1:LimitRange", "search").values()
    [limit] = defaults["inputs"]["spec"]["limits"]
    # Default requests only: default limits below a container's own requests would refuse it (a GPU server
    # asking for 8 CPUs and limiting only its GPU, the shape the pack approves).
    assert limit["type"] == "Container" and limit["defaultRequest"] and "default" not in limit


def test_a_team_without_a_gpu_quota_may_use_no_gpus_rather_than_any_number(teams_plan):
    # A quota caps only the resources it names; recsys has no quota.gpus, so each advertised resource is 0.
    hard = in_namespace(teams_plan, "kubernetes:core/v1:ResourceQuota", "recsys")["team-quota"]["inputs"]["spec"][
        "hard"
    ]
    assert hard["requests.nvidia.com/gpu"] == "0"


def test_a_team_cannot_run_pods_at_priorities_that_preempt_other_teams(teams_plan):
    reserved = in_namespace(teams_plan, "kubernetes:core/v1:ResourceQuota", "search")["reserved-priorities"]
    spec = reserved["inputs"]["spec"]
    assert spec["hard"] == {"pods": "0"}
    [match] = spec["scopeSelector"]["matchExpressions"]
    assert match["scopeName"] == "PriorityClass" and match["operator"] == "In"
    assert set(match["values"]) == {"inference-critical", "system-cluster-critical", "system-node-critical"}


def test_network_policies_deny_by_default_and_allow_only_dns_the_namespace_the_scrape_and_https(teams_plan):
    policies = {
        n: p["inputs"]["spec"]
        for n, p in in_namespace(teams_plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "search").items()
    }
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert set(policies) == {
        "default-deny",
        "allow-same-namespace",
        "allow-dns",
        "allow-monitoring-scrape",
        "allow-aws-apis",
    }
    dns = policies["allow-dns"]["egress"][0]
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert {p["port"] for p in dns["ports"]} == {53}
    assert policies["allow-aws-apis"]["egress"][0]["ports"] == [{"protocol": "TCP", "port": 443}]
    # Enforced only with the VPC CNI's network policy agent on.
    [cni] = [a for a in teams_plan.of_type("aws:eks/addon:Addon") if a["inputs"]["addonName"] == "vpc-cni"]
    assert json.loads(cni["inputs"]["configurationValues"])["enableNetworkPolicy"] == "true"


def test_members_get_a_role_in_their_namespace_only_through_an_access_entry_and_a_group(teams_plan):
    [entry] = [
        e for e in teams_plan.of_type("aws:eks/accessEntry:AccessEntry") if e["inputs"]["principalArn"] == MEMBER
    ]
    assert entry["inputs"]["kubernetesGroups"] == ["team-search"] and entry["inputs"]["type"] == "STANDARD"
    assert not [
        a
        for a in teams_plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if a["inputs"].get("principalArn") == MEMBER
    ]  # no EKS access policy, no cluster scope
    [binding] = in_namespace(teams_plan, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "search").values()
    assert binding["inputs"]["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "team-search"}
    ]
    assert binding["inputs"]["roleRef"]["kind"] == "Role"  # not a ClusterRole
    [role] = in_namespace(teams_plan, "kubernetes:rbac.authorization.k8s.io/v1:Role", "search").values()
    writable = {
        (rule["apiGroups"][0], resource)
        for rule in role["inputs"]["rules"]
        for resource in rule["resources"]
        if "create" in rule["verbs"] or "update" in rule["verbs"]
    }
    assert ("apps", "deployments") in writable and ("", "pods") in writable
    # What holds the team in stays out of its reach.
    for held in (
        ("", "resourcequotas"),
        ("", "limitranges"),
        ("networking.k8s.io", "networkpolicies"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
    ):
        assert held not in writable


def test_priority_classes_let_batch_preempt_nothing_and_inference_preempt_batch(teams_plan):
    classes = {
        p["inputs"]["metadata"]["name"]: p["inputs"]
        for p in teams_plan.of_type("kubernetes:scheduling.k8s.io/v1:PriorityClass")
    }
    assert classes["batch"]["preemptionPolicy"] == "Never"
    assert classes["inference-critical"]["value"] > classes["inference"]["value"] > classes["batch"]["value"]
    assert not any(c.get("globalDefault") for c in classes.values())


def test_a_stack_without_teams_makes_no_tenancy():
    assert Plan.of_config(MINIMAL).of_type("kubernetes:core/v1:ResourceQuota") == []


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            {"teams": [{**TEAM, "gpuPools": ["h100"]}]},
            "platform.teams[search].gpuPools: h100 is no GPU pool of this stack; pools: l4",
        ),
        (
            {"teams": [{**TEAM, "quota": {"gpus": {"nvidia.com/mig-1g.10gb": 7}}}]},
            (
                "platform.teams[search].quota.gpus: nvidia.com/mig-1g.10gb is advertised by none of the team's pools "
                "(nvidia.com/gpu)"
            ),
        ),
        ({"teams": [TEAM, TEAM]}, "platform.teams: team names must be unique (search repeated)"),
        (
            {"teams": [TEAM], "cluster": {"adminRoleArns": [MEMBER]}},
            f"platform.teams[search].memberRoleArns: {MEMBER} is also in cluster.adminRoleArns",
        ),
        (
            {"teams": [{**TEAM, "quota": {"memory": "lots"}}]},
            "platform.teams[search].quota.memory: must be a Kubernetes quantity such as 16, 500m or 64Gi",
        ),
    ],
)
def test_a_team_the_platform_cannot_hold_is_a_config_error_naming_it(change, says):
    with pytest.raises(ConfigError) as refused:
        load_platform_config({**MINIMAL, "gpuPools": [L4_POOL], **change}, PROJECT, "dev")
    assert any(line.startswith(says) for line in refused.value.problems), refused.value.problems


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_namespace_but_the_teams_is_reserved_so_no_team_can_share_it(stack, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    created = {n["inputs"]["metadata"]["name"] for n in plan.of_type("kubernetes:core/v1:Namespace")}
    teams = {t["name"] for t in fixture_platform(stack)["teams"]}
    assert teams and created - teams <= set(RESERVED_NAMESPACES)
