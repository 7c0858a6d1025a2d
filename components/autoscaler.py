"""Cluster Autoscaler: node groups grow when pods wait and shrink (to zero) when nodes idle.

It discovers the managed node groups of this cluster by the tags EKS puts on their Auto Scaling
groups and the platform's own `gpu-platform.io/autoscaled` tag, which every group but a Capacity
Block pool gets (see AUTOSCALED_TAG). A GPU pool at zero nodes has no node to learn from, so each pool's Auto Scaling group is
tagged with what one node would offer (its advertised resources, labels and taint): without
those tags a pod asking for `nvidia.com/mig-1g.10gb`, or for more time-sliced GPUs than the
instance has, would never trigger a scale-up (see the cluster-autoscaler AWS README, "Scaling
a node group to 0"; Karpenter has the same blind spot for time-slicing, kubernetes-sigs/karpenter#2140).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from gpu_platform.components import iam, sharing
from gpu_platform.components.catalog import CLUSTER_AUTOSCALER
from gpu_platform.components.charts import chart_release
from gpu_platform.components.cluster import Cluster
from gpu_platform.components.gpu_pool import GpuPool
from gpu_platform.components.irsa import IrsaRole, ServiceAccountBinding
from gpu_platform.components.labels import CostLabels
from gpu_platform.components.node_group import SizeOwner, autoscaling_group_name
from gpu_platform.components.node_labels import SYSTEM_LABEL

CHART, REPOSITORY = "cluster-autoscaler", "https://kubernetes.github.io/autoscaler"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
NODE_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
# EKS tags every managed node group's Auto Scaling group with the two default discovery tags (EKS user
# guide, managed node groups); the autoscaler takes a group only if it has every listed key (aws_manager.go,
# asgAutoDiscoveryConfig). The platform's own key marks the groups it hands to the autoscaler, so a
# Capacity Block pool, whose instances cannot launch outside the reservation, is never grown.
AUTOSCALED_TAG = "gpu-platform.io/autoscaled"
DESCRIBE_ACTIONS = [
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
]


def discovery_tags(cluster_name: str) -> list[str]:
    """Keys every discovered group has; `key=value` matches the value too (aws_manager.go,
    parseASGAutoDiscoverySpec), so a group handed to another cluster's autoscaler is not taken."""
    return [
        "k8s.io/cluster-autoscaler/enabled",
        f"k8s.io/cluster-autoscaler/{cluster_name}",
        f"{AUTOSCALED_TAG}={cluster_name}",
    ]


def autoscaler_statements(cluster_name: str) -> tuple[iam.Statement, ...]:
    """Read every group (describe calls take no resource), resize only the groups the platform handed over."""
    return (
        iam.allow(DESCRIBE_ACTIONS, ["*"], sid="DiscoverNodeGroups"),
        iam.allow(
            ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            ["*"],
            sid="ResizeThisClustersGroups",
            conditions={
                "StringEquals": {
                    f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned",
                    f"aws:ResourceTag/{AUTOSCALED_TAG}": cluster_name,
                }
            },
        ),
    )


def node_template_tags(pool: GpuPool) -> dict[str, str]:
    """What one node of the pool offers, as the ASG tags the autoscaler reads for empty groups."""
    tags = {
        f"{NODE_TEMPLATE}/resources/{name}": str(count)
        for name, count in sharing.autoscaler_resources(pool.config).items()
    }
    tags |= {f"{NODE_TEMPLATE}/label/{key}": value for key, value in sharing.node_labels(pool.config).items()}
    taint = sharing.taint(pool.config)
    tags[f"{NODE_TEMPLATE}/taint/{taint['key']}"] = f"{taint['value']}:{taint['effect']}"
    return tags


class ClusterAutoscaler(pulumi.ComponentResource):
    """The Cluster Autoscaler of the cluster's Kubernetes minor, with its own IRSA role; it resizes the system
    pool and every GPU pool but Capacity Blocks, and knows what an empty GPU pool's node would offer."""

    def __init__(
        self,
        name: str,
        cluster: Cluster,
        pools: list[GpuPool],
        region: str,
        kubernetes_version: str,
        labels: CostLabels,
        pod_labels: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:ClusterAutoscaler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = IrsaRole(
            f"{name}-role",
            cluster.oidc,
            ServiceAccountBinding(NAMESPACE, SERVICE_ACCOUNT, cluster.kubernetes, pod_labels),
            labels,
            statements=autoscaler_statements(cluster.name),
            description="Cluster Autoscaler resizes this cluster's node groups",
            opts=child,
        )
        groups = [("system", cluster.system_nodes, {})]
        groups += [
            (pool.config.name, pool.node_group, node_template_tags(pool))
            for pool in pools
            if pool.size_owner == SizeOwner.AUTOSCALER
        ]
        for group_name, group, template in groups:
            asg = autoscaling_group_name(group)
            for key, value in sorted({AUTOSCALED_TAG: cluster.name, **template}.items()):
                slug = key.removeprefix(f"{NODE_TEMPLATE}/").replace("/", "-")
                aws.autoscaling.Tag(
                    f"{name}-{group_name}-{slug}",
                    autoscaling_group_name=asg,
                    tag={"key": key, "value": value, "propagate_at_launch": False},
                    opts=child,
                )
        release = CLUSTER_AUTOSCALER[kubernetes_version]
        chart_release(
            name,
            CHART,
            release.chart_version,
            REPOSITORY,
            NAMESPACE,
            values={
                "cloudProvider": "aws",
                "awsRegion": region,
                "autoDiscovery": {"clusterName": cluster.name, "tags": discovery_tags(cluster.name)},
                # The chart's default image can lag its appVersion; the minor's latest patch, always.
                "image": {"tag": release.image_tag},
                "rbac": {"serviceAccount": {"create": False, "name": SERVICE_ACCOUNT}},
                "nodeSelector": {SYSTEM_LABEL: "true"},
                "podLabels": pod_labels,
                "extraArgs": {
                    "balance-similar-node-groups": True,
                    "expander": "least-waste",
                    "skip-nodes-with-system-pods": False,
                    "scale-down-unneeded-time": "10m",
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self, provider=cluster.kubernetes, depends_on=[role, cluster.system_nodes]
            ),
        )
        self.register_outputs({})
