"""Teams: a namespace each, with its quota, its defaults, its network isolation and its members' access.

A team's members reach the cluster through an EKS access entry that maps their IAM role to one Kubernetes
group, `team-<name>`; a Role in the team's namespace, bound to that group, is all they may do. Nothing here
grants anything outside the namespace, nor lets a member change the quota, the defaults or the network
policies that hold the team in.
"""

from __future__ import annotations

from collections.abc import Iterable

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from gpu_platform.components.cluster import Cluster
from gpu_platform.components.config import TeamConfig
from gpu_platform.components.labels import COST_CENTER, PRODUCT, CostLabels
from gpu_platform.components.observability import NAMESPACE as MONITORING_NAMESPACE
from gpu_platform.components.pod_security import RESTRICTED

TEAM_LABEL = "gpu-platform.io/team"
# The load balancer controller injects a readiness gate into pods of namespaces with this label, so a rollout
# waits until the new pods are registered with the ALB (controller docs: deploy/pod_readiness_gate.md).
READINESS_GATES = {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}
POOLS_ANNOTATION = "gpu-platform.io/gpu-pools"  # the pools a team may use, for the pack's tenancy rule
# Default requests for containers that set none, so the quota counts every pod (a quota on requests.cpu
# refuses pods without requests: Kubernetes docs, "Resource Quotas"). No default limits: a LimitRange does not
# check that its defaults fit a container's own requests ("Limit Ranges"), so a default cpu limit of 1 would
# refuse the GPU server that asks for 8 CPUs and sets only its GPU limit, the shape the pack approves.
CONTAINER_DEFAULT_REQUESTS = {"cpu": "250m", "memory": "256Mi"}
# Priority classes a team may not use: they could preempt other teams (any namespace may use the system ones
# since Kubernetes 1.17; "Pod Priority and Preemption" warns of this). A quota scoped to them allows 0 pods.
RESERVED_PRIORITIES = ("inference-critical", "system-cluster-critical", "system-node-critical")
# Scheduling priority: inference-critical may preempt the others, inference may preempt batch, and batch
# never preempts anything (preemptionPolicy Never: Kubernetes docs, "Pod Priority and Preemption").
PRIORITY_CLASSES = (
    ("inference-critical", 1_000_000, "PreemptLowerPriority", "Serving that must stay up: preempts the rest"),
    ("inference", 100_000, "PreemptLowerPriority", "Serving: may preempt batch, never critical serving"),
    ("batch", 1_000, "Never", "Batch and evaluation: waits for room, preempts nothing"),
)
# What a member may do in the team's namespace: run and inspect workloads. Not RBAC, quotas, limit ranges or
# network policies, which hold the team in.
MEMBER_RULES = (
    (
        "",
        ("pods", "pods/log", "services", "configmaps", "secrets", "serviceaccounts", "persistentvolumeclaims"),
        ("get", "list", "watch", "create", "update", "patch", "delete"),
    ),
    ("", ("pods/exec", "pods/attach", "pods/portforward"), ("create", "get")),
    ("", ("pods/ephemeralcontainers",), ("get", "patch", "update")),  # kubectl debug
    ("", ("events", "resourcequotas", "limitranges", "endpoints"), ("get", "list", "watch")),
    ("discovery.k8s.io", ("endpointslices",), ("get", "list", "watch")),
    ("apps", ("deployments/scale", "statefulsets/scale"), ("get", "update", "patch")),  # kubectl scale
    # their own scrape targets (the namespace's NetworkPolicies let Prometheus in)
    (
        "monitoring.coreos.com",
        ("servicemonitors", "podmonitors"),
        ("get", "list", "watch", "create", "update", "patch", "delete"),
    ),
    (
        "apps",
        ("deployments", "statefulsets", "replicasets"),
        ("get", "list", "watch", "create", "update", "patch", "delete"),
    ),
    ("batch", ("jobs", "cronjobs"), ("get", "list", "watch", "create", "update", "patch", "delete")),
    ("autoscaling", ("horizontalpodautoscalers",), ("get", "list", "watch", "create", "update", "patch", "delete")),
    ("policy", ("poddisruptionbudgets",), ("get", "list", "watch", "create", "update", "patch", "delete")),
    ("networking.k8s.io", ("networkpolicies",), ("get", "list", "watch")),
)


def member_group(team: TeamConfig) -> str:
    """The Kubernetes group a team's IAM roles are mapped to by their access entries."""
    return f"team-{team.name}"


def quota_of(team: TeamConfig, gpu_resources: Iterable[str]) -> dict[str, str]:
    """The ResourceQuota's `hard`: GPUs as `requests.<resource>` only (an extended resource cannot be
    overcommitted, so Kubernetes allows no `limits.` quota for it: docs, "Resource Quotas", extended
    resources), CPU and memory requests (a limits quota would refuse pods without limits), pods, and no
    LoadBalancer or NodePort services (a team publishes through the platform, not straight into the VPC).
    A quota caps only what it names, so every GPU resource the stack's pools advertise is named: 0 where the
    team has no quota for it."""
    quota = team.quota
    gpus = {**dict.fromkeys(gpu_resources, 0), **quota.gpus}
    return {
        **{f"requests.{resource}": str(count) for resource, count in sorted(gpus.items())},
        "requests.cpu": quota.cpu,
        "requests.memory": quota.memory,
        "pods": str(quota.pods),
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }


def network_policies(namespace: str) -> dict[str, dict[str, object]]:
    """Default deny, then what a team's pods need: DNS, each other, the monitoring scrape, AWS APIs over
    HTTPS (S3 through the VPC's gateway endpoint, STS and ECR through its interface endpoints; a
    NetworkPolicy cannot name an S3 prefix list, so HTTPS egress is allowed by port)."""
    return {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        },
        "allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
        "allow-monitoring-scrape": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}
                    ]
                }
            ],
        },
        "allow-aws-apis": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]}],
        },
    }


class Tenancy(pulumi.ComponentResource):
    """Every team's namespace and what holds it in, and the cluster's priority classes."""

    namespaces: dict[str, k8s.core.v1.Namespace]

    def __init__(
        self,
        name: str,
        teams: tuple[TeamConfig, ...],
        gpu_resources: Iterable[str],
        cluster: Cluster,
        labels: CostLabels,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:Tenancy", name, None, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes)
        for priority, value, preemption, description in PRIORITY_CLASSES:
            k8s.scheduling.v1.PriorityClass(
                f"{name}-{priority}",
                metadata={"name": priority, "labels": labels.base()},
                value=value,
                preemption_policy=preemption,
                global_default=False,
                description=description,
                opts=on_cluster,
            )
        self._gpu_resources = sorted(set(gpu_resources))
        self.namespaces = {team.name: self._team(name, team, cluster, labels, on_cluster) for team in teams}
        self.register_outputs({"namespaces": list(self.namespaces)})

    def _team(
        self, name: str, team: TeamConfig, cluster: Cluster, labels: CostLabels, on_cluster: pulumi.ResourceOptions
    ) -> k8s.core.v1.Namespace:
        prefix = f"{name}-{team.name}"
        team_labels = {
            **labels.base(),
            COST_CENTER: team.cost_center or labels.cost_center,
            PRODUCT: team.product or labels.product,
            TEAM_LABEL: team.name,
        }
        namespace = k8s.core.v1.Namespace(
            prefix,
            metadata={
                "name": team.name,
                "labels": {**team_labels, **RESTRICTED, **READINESS_GATES},
                "annotations": {POOLS_ANNOTATION: ",".join(team.gpu_pools)},
            },
            opts=on_cluster,
        )
        in_namespace = pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes, depends_on=[namespace])
        metadata = {"namespace": team.name, "labels": team_labels}
        k8s.core.v1.ResourceQuota(
            f"{prefix}-quota",
            metadata={**metadata, "name": "team-quota"},
            spec={"hard": quota_of(team, self._gpu_resources)},
            opts=in_namespace,
        )
        k8s.core.v1.LimitRange(
            f"{prefix}-defaults",
            metadata={**metadata, "name": "container-defaults"},
            spec={"limits": [{"type": "Container", "defaultRequest": CONTAINER_DEFAULT_REQUESTS}]},
            opts=in_namespace,
        )
        k8s.core.v1.ResourceQuota(
            f"{prefix}-reserved-priorities",
            metadata={**metadata, "name": "reserved-priorities"},
            spec={
                "hard": {"pods": "0"},
                "scopeSelector": {
                    "matchExpressions": [
                        {"scopeName": "PriorityClass", "operator": "In", "values": list(RESERVED_PRIORITIES)}
                    ]
                },
            },
            opts=in_namespace,
        )
        for policy, spec in network_policies(team.name).items():
            k8s.networking.v1.NetworkPolicy(
                f"{prefix}-{policy}", metadata={**metadata, "name": policy}, spec=spec, opts=in_namespace
            )
        k8s.rbac.v1.Role(
            f"{prefix}-member",
            metadata={**metadata, "name": "team-member"},
            rules=[
                {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}
                for group, resources, verbs in MEMBER_RULES
            ],
            opts=in_namespace,
        )
        k8s.rbac.v1.RoleBinding(
            f"{prefix}-members",
            metadata={**metadata, "name": "team-members"},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "team-member"},
            subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": member_group(team)}],
            opts=in_namespace,
        )
        for i, role_arn in enumerate(team.member_role_arns):
            # STANDARD entries only map the role to the team's group; no EKS access policy, no cluster scope.
            aws.eks.AccessEntry(
                f"{prefix}-member-{i}",
                cluster_name=cluster.cluster_name,
                principal_arn=role_arn,
                kubernetes_groups=[member_group(team)],
                type="STANDARD",
                tags={**labels.aws_tags(f"{prefix}-member-{i}"), **{k: team_labels[k] for k in (COST_CENTER, PRODUCT)}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster.eks_cluster]),
            )
        return namespace
