"""Cluster Autoscaler: node groups grow when pods wait and shrink (to zero) when nodes idle.

It discovers the managed node groups of this cluster by the tags EKS puts on their Auto Scaling
groups. A GPU pool at zero nodes has no node to learn from, so each pool's Auto Scaling group is
tagged with what one node would offer (its advertised resources, labels and taint): without
those tags a pod asking for `nvidia.com/mig-1g.10gb`, or for more time-sliced GPUs than the
instance has, would never trigger a scale-up (see the cluster-autoscaler AWS README, "Scaling
a node group to 0"; Karpenter has the same blind spot for time-slicing, kubernetes-sigs/karpenter#2140).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import iam, sharing
from components.catalog import CLUSTER_AUTOSCALER_IMAGES
from components.cluster import SYSTEM_POOL_LABEL, Cluster
from components.gpu_pool import GpuPool
from components.irsa import IrsaRole, ServiceAccountBinding
from components.labels import CostLabels

CHART = ("cluster-autoscaler", "9.38.0", "https://kubernetes.github.io/autoscaler")
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
NODE_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
DESCRIBE_ACTIONS = [
    "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
]


def autoscaler_statements(cluster_name: str) -> tuple[iam.Statement, ...]:
    """Read every group (describe calls take no resource), resize only this cluster's."""
    return (
        iam.allow(DESCRIBE_ACTIONS, ["*"], sid="DiscoverNodeGroups"),
        iam.allow(["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"], ["*"],
                  sid="ResizeThisClustersGroups",
                  conditions={"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}}),
    )


def node_template_tags(pool: GpuPool) -> dict[str, str]:
    """What one node of the pool offers, as the ASG tags the autoscaler reads for empty groups."""
    tags = {f"{NODE_TEMPLATE}/resources/{name}": str(count) for name, count in pool.advertised.items()}
    tags |= {f"{NODE_TEMPLATE}/label/{key}": value for key, value in sharing.node_labels(pool.config).items()}
    taint = sharing.taint(pool.config)
    tags[f"{NODE_TEMPLATE}/taint/{taint['key']}"] = f"{taint['value']}:{taint['effect']}"
    return tags


class ClusterAutoscaler(pulumi.ComponentResource):
    """The Cluster Autoscaler with its own IRSA role, and scale-from-zero tags for every GPU pool."""

    def __init__(self, name: str, cluster: Cluster, pools: list[GpuPool], region: str, kubernetes_version: str,
                 labels: CostLabels, pod_labels: dict[str, str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:ClusterAutoscaler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = IrsaRole(
            f"{name}-role", cluster.oidc, ServiceAccountBinding(NAMESPACE, SERVICE_ACCOUNT, cluster.kubernetes,
                                                                pod_labels),
            labels, statements=autoscaler_statements(cluster.name),
            description="Cluster Autoscaler resizes this cluster's node groups", opts=child)
        for pool in pools:
            group_name = pool.node_group.node_group.apply(lambda group: group.resources).apply(
                lambda resources: resources[0].autoscaling_groups[0].name)
            for key, value in sorted(node_template_tags(pool).items()):
                slug = key.removeprefix(f"{NODE_TEMPLATE}/").replace("/", "-")
                aws.autoscaling.Tag(f"{name}-{pool.config.name}-{slug}", autoscaling_group_name=group_name,
                                    tag={"key": key, "value": value, "propagate_at_launch": False}, opts=child)
        chart, version, repo = CHART
        k8s.helm.v3.Release(
            name, name=chart, chart=chart, version=version, namespace=NAMESPACE,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo),
            values={
                "cloudProvider": "aws", "awsRegion": region,
                "autoDiscovery": {"clusterName": cluster.name},
                "image": {"tag": CLUSTER_AUTOSCALER_IMAGES[kubernetes_version]},
                "rbac": {"serviceAccount": {"create": False, "name": SERVICE_ACCOUNT}},
                "nodeSelector": {SYSTEM_POOL_LABEL: "true"},
                "podLabels": pod_labels,
                "extraArgs": {"balance-similar-node-groups": True, "expander": "least-waste",
                              "skip-nodes-with-system-pods": False, "scale-down-unneeded-time": "10m"},
            },
            atomic=True, cleanup_on_fail=True,
            opts=pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes,
                                        depends_on=[role, cluster.system_nodes]))
        self.register_outputs({})
