"""Model services: vLLM on its pool with its GPU resource, probed on its health endpoint, the weights read
through its own role, behind an internal ALB; what the config refuses, and what admission admits."""

from __future__ import annotations

import json

import pytest
from gpu_platform.components.config import ConfigError, load_platform_config

from tests.iam_eval import ALLOW, IMPLICIT_DENY, Request, decide
from tests.planning import MINIMAL, PROJECT, Plan, with_changes
from tests.test_admission import admit


def objects(plan: Plan, type_: str, name: str = "chat-small") -> dict:
    [found] = [r["inputs"] for r in plan.of_type(type_) if r["inputs"]["metadata"].get("name") == name]
    return found


@pytest.mark.parametrize(
    ("stack", "pool", "resource"),
    [("dev", "shared-l4", "nvidia.com/gpu"), ("prod", "h100-mig", "nvidia.com/mig-1g.10gb")],
)
def test_the_server_runs_on_its_pool_with_its_gpu_resource_and_is_probed_on_health(stack, pool, resource, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    deployment = objects(plan, "kubernetes:apps/v1:Deployment")
    assert deployment["metadata"]["namespace"] == "search"
    spec = deployment["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"gpu-platform.io/pool": pool}
    assert spec["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Equal", "value": pool, "effect": "NoSchedule"}
    ]
    [server] = spec["containers"]
    assert server["resources"]["limits"][resource] == 1 and resource not in server["resources"]["requests"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert server[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert server["startupProbe"]["periodSeconds"] * server["startupProbe"]["failureThreshold"] >= 1200
    assert server["ports"] == [{"name": "http", "containerPort": 8000}]
    [download] = spec["initContainers"]
    bucket = plan.outputs["bucketName"]
    model = deployment["spec"]["template"]["metadata"]["labels"]  # cost labels on the pods
    assert {"cost-center", "product", "environment", "workload-type"} <= set(model)
    assert f"s3://{bucket}/models/qwen2.5-" in " ".join(download["command"])
    assert spec["securityContext"]["runAsNonRoot"] is True


def test_it_is_reached_through_an_internal_alb_scraped_and_drained_one_pod_at_a_time(prod_plan: Plan):
    ingress = objects(prod_plan, "kubernetes:networking.k8s.io/v1:Ingress")
    assert ingress["spec"]["ingressClassName"] == "alb"  # internal by the class's parameters
    [path] = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["backend"]["service"] == {"name": "chat-small", "port": {"name": "http"}}
    service = objects(prod_plan, "kubernetes:core/v1:Service")
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    assert objects(prod_plan, "kubernetes:policy/v1:PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    monitor = objects(prod_plan, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "15s"}]
    # the team's default deny would stop the load balancer: this lets the VPC reach the server's port only
    allow = objects(prod_plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "chat-small-from-load-balancer")
    assert allow["spec"]["ingress"] == [
        {"from": [{"ipBlock": {"cidr": "10.10.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 8000}]}
    ]


def test_the_services_role_reads_its_model_and_nothing_else(prod_plan: Plan):
    [role] = [r for r in prod_plan.of_type("aws:iam/role:Role") if "search-chat-small-role" in r["urn"]]
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:search:chat-small-server" in trust.values()
    [grant] = [
        p for p in prod_plan.of_type("aws:iam/rolePolicy:RolePolicy") if "search-chat-small-role-read" in p["urn"]
    ]
    policy = json.loads(grant["inputs"]["policy"])
    arn = f"arn:aws:s3:::{prod_plan.outputs['bucketName']}"
    assert decide(policy, Request("s3:GetObject", f"{arn}/models/qwen2.5-1.5b-instruct/config.json")) == ALLOW
    assert decide(policy, Request("s3:GetObject", f"{arn}/models/another-model/config.json")) == IMPLICIT_DENY
    assert decide(policy, Request("s3:PutObject", f"{arn}/models/qwen2.5-1.5b-instruct/x")) == IMPLICIT_DENY


def test_admission_admits_the_services_own_deployment(prod_plan: Plan):
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", **objects(prod_plan, "kubernetes:apps/v1:Deployment")}
    assert admit(prod_plan, deployment) == {}


L4 = {
    "name": "l4",
    "instanceTypes": ["g6.xlarge"],
    "size": {"maxSize": 2},
    "sharing": {"mode": "time-slicing", "replicas": 4},
}


@pytest.mark.parametrize(
    ("service", "teams", "message"),
    [
        (
            {"pool": "l4", "resource": "nvidia.com/mig-1g.10gb"},
            [],
            "platform.services[0].resource: service chat: pool l4 advertises nvidia.com/gpu; choose one it advertises",
        ),
        (
            {"pool": "l4", "replicas": 9},
            [],
            "platform.services[0].replicas: service chat: 9 replicas need 9 x nvidia.com/gpu; pool l4 holds 8 at maxSize 2",
        ),
        ({"pool": "a100"}, [], "platform.services[0].pool: service chat: a100 is no GPU pool of this stack; pools: l4"),
        (
            {"pool": "l4", "team": "search"},
            [{"name": "search"}],
            "platform.services[0].pool: service chat: team search may not use l4 (its gpuPools: none)",
        ),
    ],
    ids=["resource-not-advertised", "more-replicas-than-the-pool-holds", "no-such-pool", "pool-not-the-teams"],
)
def test_a_service_the_platform_cannot_place_is_a_config_error_naming_it(service, teams, message):
    raw = with_changes(
        MINIMAL, {"gpuPools": [L4], "teams": teams, "services": [{"name": "chat", "model": "m", **service}]}
    )
    with pytest.raises(ConfigError) as error:
        load_platform_config(raw, PROJECT, "dev")
    assert message in error.value.problems


def test_the_server_survives_as_non_root_drains_gracefully_and_shares_a_time_sliced_gpu(dev_plan: Plan, prod_plan):
    env = {
        e["name"]: e["value"]
        for e in objects(dev_plan, "kubernetes:apps/v1:Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["USER"] == "vllm" and env["HOME"] == "/tmp"  # uid 1000 has no passwd entry in the image
    assert env["VLLM_NO_USAGE_STATS"] == "1"
    for plan, share in ((dev_plan, "0.225"), (prod_plan, "0.9")):  # dev: 4 pods time-slice one L4
        spec = objects(plan, "kubernetes:apps/v1:Deployment")["spec"]["template"]["spec"]
        args = spec["containers"][0]["args"]
        assert args[args.index("--gpu-memory-utilization") + 1] == share
        assert spec["terminationGracePeriodSeconds"] == 60
        assert spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"] == 15
    annotations = objects(prod_plan, "kubernetes:networking.k8s.io/v1:Ingress")["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/load-balancer-attributes"] == "idle_timeout.timeout_seconds=600"
    assert annotations["alb.ingress.kubernetes.io/target-group-attributes"] == "deregistration_delay.timeout_seconds=30"
    # rollouts wait for the ALB to register new pods: the namespaces ask the controller for readiness gates
    for name in ("search", "inference"):
        [ns] = [n for n in prod_plan.of_type("kubernetes:core/v1:Namespace") if n["inputs"]["metadata"]["name"] == name]
        assert ns["inputs"]["metadata"]["labels"]["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
