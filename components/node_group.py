"""Managed node groups, built one way for the system pool and every GPU pool.

This is `aws.eks.NodeGroup` itself, not pulumi-eks's ManagedNodeGroup: that component leaves `version`
unset whenever a launch template is given (pulumi-eks nodes/nodegroup.ts, createManagedNodeGroup), so
nodes never followed the control plane, and its schema has no `nodeRepairConfig` (pulumi/pulumi-eks#1640).
With API authentication EKS creates the node role's access entry for a managed node group itself
(EKS user guide, "Create access entries": managed node groups and Fargate get theirs automatically).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import pulumi
import pulumi_aws as aws
from gpu_platform.components.config import NodeGroupSize

# EKS taint effects are spelled differently from Kubernetes'.
EKS_EFFECT = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}


class SizeOwner(str, Enum):
    """Who changes a node group's desired size once it exists; `pulumi up` keeps min and max either way."""

    CONFIG = "config"  # the stack config: `pulumi up` sets it
    AUTOSCALER = "autoscaler"  # the Cluster Autoscaler
    RESERVATION = "reservation"  # a Capacity Block: EKS's scheduled scale-down before the reservation ends


@dataclass(frozen=True)
class NodeGroupArgs:
    cluster_name: pulumi.Input[str]
    kubernetes_version: pulumi.Input[str]
    node_role_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    # None when the launch template names the instance type (Capacity Blocks need it there).
    instance_types: tuple[str, ...] | None
    ami_type: str
    capacity_type: str
    size: NodeGroupSize
    size_owner: SizeOwner
    labels: dict[str, str]
    tags: dict[str, str]
    taints: list[dict[str, str]] = field(default_factory=list)  # Kubernetes form: key, value, effect


def managed_node_group(
    name: str, args: NodeGroupArgs, template: aws.ec2.LaunchTemplate, opts: pulumi.ResourceOptions
) -> aws.eks.NodeGroup:
    """A node group on the cluster's version whose unhealthy nodes EKS repairs.

    Node repair replaces or reboots nodes whose kubelet stays NotReady, and, with the node monitoring
    agent add-on, GPUs with fatal XID, NVLink or double-bit ECC errors (EKS user guide, "node health").
    """
    ignored = [] if args.size_owner == SizeOwner.CONFIG else ["scalingConfig.desiredSize"]
    if args.size_owner == SizeOwner.RESERVATION:
        # EKS: upgrade a Capacity Block group only at desired size 0, so a version bump never reaches a
        # running reservation by itself (see README, "Kubernetes versions and upgrades").
        ignored.append("version")
    return aws.eks.NodeGroup(
        name,
        cluster_name=args.cluster_name,
        version=args.kubernetes_version,
        node_role_arn=args.node_role_arn,
        subnet_ids=args.subnet_ids,
        instance_types=list(args.instance_types) if args.instance_types else None,
        ami_type=args.ami_type,
        capacity_type=args.capacity_type,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=args.size.min_size, desired_size=args.size.desired_size, max_size=args.size.max_size
        ),
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
        labels=args.labels,
        taints=[
            aws.eks.NodeGroupTaintArgs(key=t["key"], value=t["value"], effect=EKS_EFFECT[t["effect"]])
            for t in args.taints
        ]
        or None,
        node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
        tags=args.tags,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=ignored or None)),
    )


def autoscaling_group_name(group: aws.eks.NodeGroup) -> pulumi.Output[str]:
    """The Auto Scaling group EKS made for the node group (where the Cluster Autoscaler reads its tags)."""
    return group.resources.apply(lambda resources: resources[0].autoscaling_groups[0].name)
