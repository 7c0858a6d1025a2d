"""Launch templates for managed node groups: the node settings EKS does not secure by default.

IMDSv2 only, with a hop limit of 1 so that pods cannot reach the node's instance
credentials; an encrypted gp3 root volume; tag specifications so the EC2
instances, volumes and network interfaces themselves carry the cost tags (a
node group's own tags never reach them).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

TAGGED_RESOURCE_TYPES = ("instance", "volume", "network-interface")
MIME_BOUNDARY = "==GPU-PLATFORM=="


def image_volume_device(ami_type: str) -> str:
    """The volume that holds container images: Bottlerocket's data volume, else the root volume."""
    return "/dev/xvdb" if ami_type.startswith("BOTTLEROCKET") else "/dev/xvda"


@dataclass(frozen=True)
class EfaInterfaces:
    """EFA interfaces, one per network card: in the cluster security group (the control plane reaches the
    node) and one that lets EFA peers talk to each other."""

    count: int
    security_group_ids: list[pulumi.Input[str]]
    placement_group: pulumi.Input[str] | None  # a cluster placement group; None inside a Capacity Block


@dataclass(frozen=True)
class NodeTemplateArgs:
    ami_type: str  # an EKS AMI type such as AL2023_x86_64_NVIDIA
    disk_size_gib: int
    tags: dict[str, str]
    shell_script: str | None = None  # run by cloud-init before kubelet starts (AL2023 only)
    capacity_reservation_id: str | None = None  # a Capacity Block for ML
    instance_type: str | None = None  # set here, not on the node group, for a Capacity Block
    efa: EfaInterfaces | None = None


def efa_network_interfaces(efa: EfaInterfaces) -> list[dict]:
    """Card 0 carries the node's primary interface as EFA (with ENA); every other card an EFA-only one.

    The layout of pulumi-eks (nodes/instances.ts) and terraform-aws-eks (eks-managed-node-group): device
    index 0 on card 0, 1 elsewhere; EFA-only needs VPC CNI 1.18.5 or later (EKS user guide, node-efa). A
    managed node group's template may not name a subnet; an interface's security groups replace the
    cluster security group EKS would add (EKS user guide, launch templates), so it is given here too.
    """
    return [
        {
            "network_card_index": card,
            "device_index": 0 if card == 0 else 1,
            "interface_type": "efa" if card == 0 else "efa-only",
            "delete_on_termination": "true",
            "security_groups": list(efa.security_group_ids),
        }
        for card in range(efa.count)
    ]


def mime_user_data(shell_script: str) -> str:
    """User data EKS can merge with its own bootstrap: a MIME multipart document, base64-encoded."""
    document = (
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"\n\n'
        f"--{MIME_BOUNDARY}\n"
        'Content-Type: text/x-shellscript; charset="us-ascii"\n\n'
        f"{shell_script}\n"
        f"--{MIME_BOUNDARY}--\n"
    )
    return base64.b64encode(document.encode()).decode()


def node_launch_template(
    name: str, args: NodeTemplateArgs, opts: pulumi.ResourceOptions | None = None
) -> aws.ec2.LaunchTemplate:
    extras: dict = {}
    if args.capacity_reservation_id:
        # EKS user guide, "Capacity Blocks for ML" (managed node groups): market type, reservation and
        # instance type all in the launch template.
        extras = {
            "instance_market_options": {"market_type": "capacity-block"},
            "capacity_reservation_specification": {
                "capacity_reservation_target": {"capacity_reservation_id": args.capacity_reservation_id}
            },
        }
    if args.instance_type:
        extras["instance_type"] = args.instance_type
    if args.efa:
        extras["network_interfaces"] = efa_network_interfaces(args.efa)
        if args.efa.placement_group is not None:
            extras["placement"] = {"group_name": args.efa.placement_group}
    return aws.ec2.LaunchTemplate(
        name,
        description=f"Nodes of {name}: IMDSv2 only, encrypted volumes, cost tags",
        update_default_version=True,
        metadata_options={
            "http_endpoint": "enabled",
            "http_tokens": "required",
            "http_put_response_hop_limit": 1,
            "instance_metadata_tags": "disabled",
        },
        block_device_mappings=[
            {
                "device_name": image_volume_device(args.ami_type),
                "ebs": {
                    "volume_size": args.disk_size_gib,
                    "volume_type": "gp3",
                    "encrypted": "true",
                    "delete_on_termination": "true",
                },
            }
        ],
        tag_specifications=[{"resource_type": kind, "tags": args.tags} for kind in TAGGED_RESOURCE_TYPES],
        user_data=mime_user_data(args.shell_script) if args.shell_script else None,
        tags=args.tags,
        opts=opts,
        **extras,
    )
