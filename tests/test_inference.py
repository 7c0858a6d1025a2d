"""Model services: vLLM on its pool with its GPU resource, probed on its health endpoint, the weights read
through its own role, behind an internal ALB; what the config refuses, and what admission admits."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from gpu_platform.components.config import ConfigError, load_platform_config

from tests.chart_values import keys_the_chart_lacks
from tests.iam_eval import ALLOW, IMPLICIT_DENY, Request, decide
from tests.planning import MINIMAL, PROJECT, ROOT, Plan, with_changes
from tests.test_admission import admit

PROMTOOL = Path(os.environ.get("PROMTOOL", ROOT / ".tools/prometheus/usr/bin/promtool"))
ADAPTER_VALUES = ROOT / "tests" / "upstream" / "prometheus-adapter" / "values.yaml"


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
        (
            {"pool": "l4", "maxReplicas": 9},
            [],
            "platform.services[0].maxReplicas: service chat: 9 replicas need 9 x nvidia.com/gpu; pool l4 holds 8 at maxSize 2",
        ),
        (
            {"pool": "l4", "replicas": 3, "maxReplicas": 2},
            [],
            "platform.services[0].maxReplicas: service chat: 2 is fewer than its 3 replicas; raise it, or remove it to run a fixed number",
        ),
        (
            {"pool": "l4", "team": "search", "maxReplicas": 6},
            [{"name": "search", "gpuPools": ["l4"], "quota": {"gpus": {"nvidia.com/gpu": 4}}}],
            (
                "platform.services[0].maxReplicas: service chat: 6 replicas need 6 x nvidia.com/gpu; team search's quota "
                "allows 4 (teams[search].quota.gpus)"
            ),
        ),
        (
            {"pool": "l4", "team": "search"},
            [{"name": "search", "gpuPools": ["l4"]}],
            "platform.services[0].replicas: service chat: 1 replicas need 1 x nvidia.com/gpu; team search's quota allows 0 (teams[search].quota.gpus)",
        ),
    ],
    ids=[
        "resource-not-advertised",
        "more-replicas-than-the-pool-holds",
        "no-such-pool",
        "pool-not-the-teams",
        "more-max-replicas-than-the-pool-holds",
        "max-replicas-below-replicas",
        "more-than-the-teams-quota",
        "team-without-quota-for-it",
    ],
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


def test_autoscaling_without_prometheus_is_a_config_error_naming_the_service():
    raw = with_changes(
        MINIMAL,
        {
            "gpuPools": [L4],
            "observability": {"enabled": False, "grafana": False},
            "services": [{"name": "chat", "model": "m", "pool": "l4", "maxReplicas": 2}],
        },
    )
    with pytest.raises(ConfigError) as error:
        load_platform_config(raw, PROJECT, "dev")
    assert (
        "platform.services[0].maxReplicas: service chat scales on vLLM's queue, which only Prometheus collects; "
        "set observability.enabled: true, or remove maxReplicas" in error.value.problems
    )


@pytest.mark.parametrize(("stack", "least", "most"), [("dev", 1, 4), ("prod", 2, 8)])
def test_the_service_scales_on_vllms_queue_between_its_replicas_and_max_replicas(stack, least, most, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    hpa = objects(plan, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert hpa["metadata"]["namespace"] == "search"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat-small"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (least, most)
    # the queue adds pods when vLLM falls behind; the running batch keeps them while the load lasts
    assert hpa["spec"]["metrics"] == [
        {"type": "Pods", "pods": {"metric": {"name": name}, "target": {"type": "AverageValue", "averageValue": value}}}
        for name, value in (("vllm_num_requests_waiting", "2"), ("vllm_num_requests_running", "16"))
    ]
    # scale-down waits ten minutes and goes one pod at a time: a replica is minutes of model loading
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300
    # created at `replicas`, then the HPA's: `pulumi up` neither resets it nor drops it (which would set it to 1)
    [deployment] = [
        r for r in plan.of_type("kubernetes:apps/v1:Deployment") if r["inputs"]["metadata"]["name"] == "chat-small"
    ]
    assert deployment["inputs"]["spec"]["replicas"] == least
    assert plan.ignored_changes(deployment) == ["spec.replicas"]
    # turning autoscaling off takes spec.replicas back from the HPA's field manager: a forced apply
    assert deployment["inputs"]["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    # no spare GPU for a surge pod when services fill their pool or quota: one pod at a time, as the PDB allows
    assert deployment["inputs"]["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    [adapter] = [
        r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "prometheus-adapter"
    ]
    assert adapter["urn"] in {
        d for r in plan.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler") for d in r["dependencies"]
    }


def test_a_service_without_max_replicas_keeps_its_size_and_no_adapter_is_installed():
    raw = with_changes(
        MINIMAL, {"gpuPools": [L4], "services": [{"name": "chat", "model": "m", "pool": "l4", "replicas": 2}]}
    )
    plan = Plan.of_config(raw)
    [deployment] = plan.of_type("kubernetes:apps/v1:Deployment")
    assert deployment["inputs"]["spec"]["replicas"] == 2 and plan.ignored_changes(deployment) == []
    assert not plan.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    assert not [
        r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "prometheus-adapter"
    ]


def adapter_values(plan: Plan) -> dict:
    [release] = [
        r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "prometheus-adapter"
    ]
    assert (release["inputs"]["version"], release["inputs"]["namespace"]) == ("5.3.0", "monitoring")
    return release["inputs"]["values"]


def test_the_adapter_reads_the_platforms_prometheus_and_serves_only_the_servers_load(prod_plan: Plan):
    values = adapter_values(prod_plan)
    # the maps the chart leaves open: its values.yaml has {} or [] there
    assert keys_the_chart_lacks(values, ADAPTER_VALUES, ("nodeSelector", "podLabels", "custom", "resources")) == []
    # kube-prometheus-stack names its Service <release>-prometheus when the release name holds the chart's
    [stack] = [
        r for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "kube-prometheus-stack"
    ]
    assert values["prometheus"] == {
        "url": f"http://{stack['inputs']['name']}-prometheus.{stack['inputs']['namespace']}.svc",
        "port": 9090,
    }
    assert values["rules"]["default"] is False  # not every series in Prometheus as a custom metric
    assert [rule["name"] for rule in values["rules"]["custom"]] == [
        {"matches": "^vllm:num_requests_waiting$", "as": "vllm_num_requests_waiting"},
        {"matches": "^vllm:num_requests_running$", "as": "vllm_num_requests_running"},
    ]
    assert values["nodeSelector"] == {"gpu-platform.io/system": "true"} and values["replicas"] == 2
    [spread] = values["topologySpreadConstraints"]  # the chart's own pod labels: its name, the release
    assert spread["labelSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "prometheus-adapter",
        "app.kubernetes.io/instance": "prometheus-adapter",
    }


def test_the_adapters_query_gives_each_pod_its_queue_summed_over_vllms_engines(prod_plan: Plan, tmp_path: Path):
    """The adapter fills its template per request (prometheus-adapter docs/config.md: the series, the pods'
    namespace and name matchers, the labels to group by); promtool evaluates the result on vLLM's gauge."""
    assert PROMTOOL.exists(), f"promtool not found at {PROMTOOL}: run `make test`, which installs it"
    rule = adapter_values(prod_plan)["rules"]["custom"][0]
    series = rule["seriesQuery"].split("{")[0]
    query = (
        rule["metricsQuery"]
        .replace("<<.Series>>", series)
        .replace("<<.LabelMatchers>>", 'namespace="search",pod=~"chat-small-a|chat-small-b"')
        .replace("<<.GroupBy>>", "pod")
    )
    gauge = 'vllm:num_requests_waiting{{namespace="{ns}",pod="{pod}",engine="{engine}",model_name="m"}}'
    tests = {
        "rule_files": [],
        "tests": [
            {
                "interval": "15s",
                "input_series": [
                    {"series": gauge.format(ns="search", pod="chat-small-a", engine="0"), "values": "3x8"},
                    {"series": gauge.format(ns="search", pod="chat-small-a", engine="1"), "values": "2x8"},
                    {"series": gauge.format(ns="search", pod="chat-small-b", engine="0"), "values": "0x8"},
                    {"series": gauge.format(ns="recsys", pod="chat-small-a", engine="0"), "values": "9x8"},
                ],
                "promql_expr_test": [
                    {
                        "expr": query,
                        "eval_time": "1m",
                        "exp_samples": [
                            {"labels": '{pod="chat-small-a"}', "value": 5},
                            {"labels": '{pod="chat-small-b"}', "value": 0},
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "adapter_test.yaml"
    path.write_text(yaml.safe_dump(tests))
    result = subprocess.run([str(PROMTOOL), "test", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("services", "teams", "message"),
    [
        (
            [{"name": "chat", "maxReplicas": 5}, {"name": "code", "maxReplicas": 4}],
            [],
            "platform.services: services chat, code: 9 replicas need 9 x nvidia.com/gpu; pool l4 holds 8 at maxSize 2",
        ),
        (
            [
                {"name": "chat", "team": "search", "maxReplicas": 3},
                {"name": "code", "team": "search", "maxReplicas": 3},
            ],
            [{"name": "search", "gpuPools": ["l4"], "quota": {"gpus": {"nvidia.com/gpu": 4}}}],
            (
                "platform.services: services chat, code: 6 replicas need 6 x nvidia.com/gpu; team search's quota "
                "allows 4 (teams[search].quota.gpus)"
            ),
        ),
        (
            [{"name": "chat", "team": "search", "maxReplicas": 4}],
            [{"name": "search", "gpuPools": ["l4"], "quota": {"gpus": {"nvidia.com/gpu": 8}, "memory": "32Gi"}}],
            (
                "platform.services[0].maxReplicas: service chat: 4 replicas need 48Gi memory; team search's quota "
                "allows 32Gi (teams[search].quota.memory)"
            ),
        ),
        (
            [{"name": "chat", "team": "search", "maxReplicas": 6}],
            [{"name": "search", "gpuPools": ["l4"], "quota": {"gpus": {"nvidia.com/gpu": 8}, "cpu": "8"}}],
            (
                "platform.services[0].maxReplicas: service chat: 6 replicas need 12 cpu; team search's quota allows 8 "
                "(teams[search].quota.cpu)"
            ),
        ),
    ],
    ids=["two-services-beyond-the-pool", "two-services-beyond-the-gpu-quota", "beyond-memory", "beyond-cpu"],
)
def test_services_together_must_fit_their_pool_and_their_teams_quota(services, teams, message):
    raw = with_changes(
        MINIMAL,
        {"gpuPools": [L4], "teams": teams, "services": [{"model": "m", "pool": "l4", **s} for s in services]},
    )
    with pytest.raises(ConfigError) as error:
        load_platform_config(raw, PROJECT, "dev")
    assert message in error.value.problems
