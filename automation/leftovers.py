"""What the cluster's controllers made in AWS outside Pulumi's state, and may leave behind after `pulumi destroy`.

The AWS Load Balancer Controller tags every load balancer, target group and security group it creates with
`elbv2.k8s.aws/cluster: <cluster>` (kubernetes-sigs/aws-load-balancer-controller pkg/deploy/tracking/provider.go,
pkg/shared_constants/tag_keys.go; its shared backend security group too, pkg/networking/backend_sg_provider.go).
The VPC CNI tags the network interfaces it creates with `cluster.k8s.amazonaws.com/name: <cluster>`
(aws/amazon-vpc-cni-k8s pkg/awsutils/awsutils.go). A crashed controller, or a node gone before its ENIs were
detached, leaves these behind; they hold the VPC's subnets and security groups, and its deletion fails.

Listing is read-only; removing is a separate call that `PlatformStack.destroy(remove_leftovers=True)` makes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from types_boto3_ec2 import EC2Client
    from types_boto3_elbv2 import ElasticLoadBalancingv2Client

LOAD_BALANCER_TAG = "elbv2.k8s.aws/cluster"
NETWORK_INTERFACE_TAG = "cluster.k8s.amazonaws.com/name"
# Tags that say which Kubernetes object a controller made the resource for (provider.go, as above).
OWNER_TAGS = ("ingress.k8s.aws/stack", "service.k8s.aws/stack", "elbv2.k8s.aws/resource")
DESCRIBE_TAGS_BATCH = 20  # elbv2 DescribeTags takes at most 20 ARNs (Elastic Load Balancing API reference)


@dataclass(frozen=True)
class Leftover:
    """One AWS resource made for the cluster by a controller."""

    kind: str  # load-balancer, target-group, security-group, network-interface
    id: str  # an ARN (load balancers, target groups) or an ID
    name: str
    owner: str  # the Kubernetes object it was made for, when its tags say so

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.id}){f' for {self.owner}' if self.owner else ''}"


@dataclass(frozen=True)
class LeftoverReport:
    """What destroy found before it ran, what was still there after it, and what it removed."""

    found: tuple[Leftover, ...] = ()
    left_behind: tuple[Leftover, ...] = ()
    removed: tuple[Leftover, ...] = ()
    errors: tuple[str, ...] = field(default=())  # AWS calls that failed: listing is best effort


class AwsLeftovers:
    """Lists and removes a cluster's controller-made resources in one region and VPC."""

    def __init__(
        self, cluster_name: str, vpc_id: str, region: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        session = boto3.session.Session(region_name=region)
        self.cluster_name, self.vpc_id = cluster_name, vpc_id
        self._elbv2: ElasticLoadBalancingv2Client = session.client("elbv2")
        self._ec2: EC2Client = session.client("ec2")
        self._sleep = sleep

    def find(self) -> tuple[Leftover, ...]:
        """Every load balancer, target group, security group and detached network interface tagged for the
        cluster in its VPC. Read-only."""
        return (*self._load_balancers(), *self._target_groups(), *self._security_groups(), *self._interfaces())

    def remove(self, leftovers: Iterable[Leftover]) -> tuple[tuple[Leftover, ...], tuple[str, ...]]:
        """Delete them in the order AWS allows (load balancers, then what they used), and say what went and what
        could not."""
        ordered = sorted(leftovers, key=lambda item: REMOVAL_ORDER.index(item.kind))
        removed: list[Leftover] = []
        errors: list[str] = []
        for item in ordered:
            try:
                self._delete(item)
                removed.append(item)
            except (BotoCoreError, ClientError) as error:
                errors.append(f"could not remove {item}: {error}")
        return tuple(removed), tuple(errors)

    # --- listing -----------------------------------------------------------------------------

    def _tagged_for_cluster(self, arns: list[str]) -> dict[str, dict[str, str]]:
        tags: dict[str, dict[str, str]] = {}
        for start in range(0, len(arns), DESCRIBE_TAGS_BATCH):
            answer = self._elbv2.describe_tags(ResourceArns=arns[start : start + DESCRIBE_TAGS_BATCH])
            for description in answer["TagDescriptions"]:
                found = {t["Key"]: t["Value"] for t in description.get("Tags", [])}
                if found.get(LOAD_BALANCER_TAG) == self.cluster_name:
                    tags[description["ResourceArn"]] = found
        return tags

    def _load_balancers(self) -> list[Leftover]:
        balancers = [
            b
            for page in self._elbv2.get_paginator("describe_load_balancers").paginate()
            for b in page["LoadBalancers"]
            if b.get("VpcId") == self.vpc_id
        ]
        tags = self._tagged_for_cluster([b["LoadBalancerArn"] for b in balancers])
        return [
            Leftover("load-balancer", b["LoadBalancerArn"], b["LoadBalancerName"], _owner(tags[b["LoadBalancerArn"]]))
            for b in balancers
            if b["LoadBalancerArn"] in tags
        ]

    def _target_groups(self) -> list[Leftover]:
        groups = [
            g
            for page in self._elbv2.get_paginator("describe_target_groups").paginate()
            for g in page["TargetGroups"]
            if g.get("VpcId") == self.vpc_id
        ]
        tags = self._tagged_for_cluster([g["TargetGroupArn"] for g in groups])
        return [
            Leftover("target-group", g["TargetGroupArn"], g["TargetGroupName"], _owner(tags[g["TargetGroupArn"]]))
            for g in groups
            if g["TargetGroupArn"] in tags
        ]

    def _filters(self, tag: str) -> list[Any]:
        return [{"Name": f"tag:{tag}", "Values": [self.cluster_name]}, {"Name": "vpc-id", "Values": [self.vpc_id]}]

    def _security_groups(self) -> list[Leftover]:
        pages = self._ec2.get_paginator("describe_security_groups").paginate(Filters=self._filters(LOAD_BALANCER_TAG))
        return [
            Leftover("security-group", g["GroupId"], g["GroupName"], _owner(_tags(g.get("Tags", []))))
            for page in pages
            for g in page["SecurityGroups"]
        ]

    def _interfaces(self) -> list[Leftover]:
        # Attached interfaces belong to running nodes (or to a load balancer still being deleted): not leftovers.
        pages = self._ec2.get_paginator("describe_network_interfaces").paginate(
            Filters=[*self._filters(NETWORK_INTERFACE_TAG), {"Name": "status", "Values": ["available"]}]
        )
        return [
            Leftover("network-interface", i["NetworkInterfaceId"], i.get("Description", ""), "")
            for page in pages
            for i in page["NetworkInterfaces"]
        ]

    # --- removing ----------------------------------------------------------------------------

    def _delete(self, item: Leftover) -> None:
        if item.kind == "load-balancer":
            self._elbv2.delete_load_balancer(LoadBalancerArn=item.id)
            # its network interfaces, which hold the security groups, go with it, a little later
            self._elbv2.get_waiter("load_balancers_deleted").wait(LoadBalancerArns=[item.id])
        elif item.kind == "target-group":
            self._elbv2.delete_target_group(TargetGroupArn=item.id)
        elif item.kind == "security-group":
            self._retry_while_in_use(lambda: self._ec2.delete_security_group(GroupId=item.id))
        else:
            self._ec2.delete_network_interface(NetworkInterfaceId=item.id)

    def _retry_while_in_use(self, call: Callable[[], object], attempts: int = 12, wait_seconds: float = 10) -> None:
        """A security group stays in use until the interfaces of a deleted load balancer are gone (minutes)."""
        for attempt in range(attempts):
            try:
                call()
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "DependencyViolation" or attempt == attempts - 1:
                    raise
                self._sleep(wait_seconds)


REMOVAL_ORDER = ("load-balancer", "target-group", "security-group", "network-interface")


def _tags(tags: Iterable[Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags}


def _owner(tags: dict[str, str]) -> str:
    return next((tags[key] for key in OWNER_TAGS if key in tags), "")
