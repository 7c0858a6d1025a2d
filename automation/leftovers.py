"""What the cluster's controllers made in AWS outside Pulumi's state, and may leave behind after `pulumi destroy`.

The AWS Load Balancer Controller tags every load balancer, target group and security group it creates with
`elbv2.k8s.aws/cluster: <cluster>` (kubernetes-sigs/aws-load-balancer-controller pkg/deploy/tracking/provider.go,
pkg/shared_constants/tag_keys.go; its shared backend security group too, pkg/networking/backend_sg_provider.go).
The VPC CNI tags every interface it creates with `node.k8s.amazonaws.com/instance_id` and describes it
`aws-K8S-...`; it counts one as leaked when it is `available` in the VPC with that tag and description
(aws/amazon-vpc-cni-k8s pkg/awsutils/awsutils.go, getLeakedENIs; the cluster-name tag is only set when the CNI
is given CLUSTER_NAME, so it is not relied on: the VPC is the stack's own). The controller also opens the node
security group to its backend group, with rules that reference it (pkg/networking/networking_manager.go); they
are revoked before that group is deleted. A crashed controller, or a node gone before its interfaces were
detached, leaves these behind; they hold the VPC's subnets and security groups, and its deletion fails.

Listing is read-only. Removing is only for after the cluster is gone (`cluster_exists()`): while it runs, its
controller owns these and would make them again.
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
    from types_boto3_ec2.type_defs import IpPermissionTypeDef
    from types_boto3_eks import EKSClient
    from types_boto3_elbv2 import ElasticLoadBalancingv2Client

LOAD_BALANCER_TAG = "elbv2.k8s.aws/cluster"
NETWORK_INTERFACE_TAG = "node.k8s.amazonaws.com/instance_id"
EKS_CLUSTER_TAG = "aws:eks:cluster-name"
NETWORK_INTERFACE_DESCRIPTION = "aws-K8S-"
# Tags that say which Kubernetes object a controller made the resource for (provider.go, as above).
OWNER_TAGS = ("ingress.k8s.aws/stack", "service.k8s.aws/stack", "elbv2.k8s.aws/resource")
DESCRIBE_TAGS_BATCH = 20  # elbv2 DescribeTags takes at most 20 ARNs (Elastic Load Balancing API reference)


@dataclass(frozen=True)
class Leftover:
    """One AWS resource made for the cluster by a controller."""

    kind: str  # load-balancer, target-group, security-group, network-interface, cluster-security-group
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
        self._eks: EKSClient = session.client("eks")
        self._sleep = sleep

    def cluster_exists(self) -> bool:
        """Whether EKS still has the cluster (DescribeCluster answers ResourceNotFoundException once it is gone)."""
        try:
            self._eks.describe_cluster(name=self.cluster_name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return False
            raise
        return True

    def find(self) -> tuple[tuple[Leftover, ...], tuple[str, ...]]:
        """Every load balancer, target group and security group tagged for the cluster in its VPC, and the VPC
        CNI's detached interfaces there; and, per kind, why it could not be listed. Read-only."""
        found: list[Leftover] = []
        errors: list[str] = []
        for kind, lister in (
            ("load balancers", self._load_balancers),
            ("target groups", self._target_groups),
            ("security groups", self._security_groups),
            ("network interfaces", self._interfaces),
        ):
            try:
                found += lister()
            except (BotoCoreError, ClientError) as error:
                errors.append(f"could not list {kind}: {error}")
        return tuple(found), tuple(errors)

    def remove(self, leftovers: Iterable[Leftover]) -> tuple[tuple[Leftover, ...], tuple[str, ...]]:
        """Delete them in the order AWS allows (load balancers, then what they used), and say what went and what
        could not. Only for a cluster that is gone: its controller would make them again."""
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
            batch = arns[start : start + DESCRIBE_TAGS_BATCH]
            try:
                described = list(self._elbv2.describe_tags(ResourceArns=batch)["TagDescriptions"])
            except ClientError as error:  # one went between the listing and now: ask one by one
                if error.response.get("Error", {}).get("Code") not in GONE:
                    raise
                described = self._tags_one_by_one(batch)
            for description in described:
                found = {t["Key"]: t["Value"] for t in description.get("Tags", [])}
                if found.get(LOAD_BALANCER_TAG) == self.cluster_name:
                    tags[description["ResourceArn"]] = found
        return tags

    def _tags_one_by_one(self, arns: list[str]) -> list[Any]:
        described: list[Any] = []
        for arn in arns:
            try:
                described += self._elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in GONE:
                    raise
        return described

    def _load_balancers(self) -> list[Leftover]:
        return self._elbv2_in_vpc("load-balancer", "describe_load_balancers", "LoadBalancers", "LoadBalancer")

    def _target_groups(self) -> list[Leftover]:
        return self._elbv2_in_vpc("target-group", "describe_target_groups", "TargetGroups", "TargetGroup")

    def _elbv2_in_vpc(self, kind: str, operation: Any, listed: str, field: str) -> list[Leftover]:
        """The load balancers or target groups of the VPC tagged for the cluster (`field`Arn, `field`Name)."""
        found = [
            item
            for page in self._elbv2.get_paginator(operation).paginate()
            for item in page[listed]
            if item.get("VpcId") == self.vpc_id
        ]
        tags = self._tagged_for_cluster([item[f"{field}Arn"] for item in found])
        return [
            Leftover(kind, item[f"{field}Arn"], item[f"{field}Name"], _owner(tags[item[f"{field}Arn"]]))
            for item in found
            if item[f"{field}Arn"] in tags
        ]

    def _filters(self, tag: str) -> list[Any]:
        return [{"Name": f"tag:{tag}", "Values": [self.cluster_name]}, {"Name": "vpc-id", "Values": [self.vpc_id]}]

    def _security_groups(self) -> list[Leftover]:
        pages = self._ec2.get_paginator("describe_security_groups").paginate(Filters=self._filters(LOAD_BALANCER_TAG))
        made = [
            Leftover("security-group", g["GroupId"], g["GroupName"], _owner(_tags(g.get("Tags", []))))
            for page in pages
            for g in page["SecurityGroups"]
        ]
        # EKS's own cluster security group (tagged aws:eks:cluster-name; EKS user guide sec-group-reqs): EKS
        # deletes it with the cluster, unless a leaked interface still holds it.
        pages = self._ec2.get_paginator("describe_security_groups").paginate(Filters=self._filters(EKS_CLUSTER_TAG))
        return made + [
            Leftover("cluster-security-group", g["GroupId"], g["GroupName"], "")
            for page in pages
            for g in page["SecurityGroups"]
        ]

    def _interfaces(self) -> list[Leftover]:
        # Attached interfaces belong to running nodes (or to a load balancer still being deleted): not leftovers.
        pages = self._ec2.get_paginator("describe_network_interfaces").paginate(
            Filters=[
                {"Name": "tag-key", "Values": [NETWORK_INTERFACE_TAG]},
                {"Name": "status", "Values": ["available"]},
                {"Name": "vpc-id", "Values": [self.vpc_id]},
            ]
        )
        return [
            Leftover("network-interface", i["NetworkInterfaceId"], i.get("Description", ""), "")
            for page in pages
            for i in page["NetworkInterfaces"]
            if i.get("Description", "").startswith(NETWORK_INTERFACE_DESCRIPTION)
        ]

    # --- removing ----------------------------------------------------------------------------

    def _delete(self, item: Leftover) -> None:
        if item.kind == "load-balancer":
            self._elbv2.delete_load_balancer(LoadBalancerArn=item.id)
            # its network interfaces, which hold the security groups, go with it, a little later
            self._elbv2.get_waiter("load_balancers_deleted").wait(LoadBalancerArns=[item.id])
        elif item.kind == "target-group":
            self._elbv2.delete_target_group(TargetGroupArn=item.id)
        elif item.kind in ("security-group", "cluster-security-group"):
            self._revoke_rules_referring_to(item.id)
            self._retry_while_in_use(lambda: self._ec2.delete_security_group(GroupId=item.id))
        else:
            self._ec2.delete_network_interface(NetworkInterfaceId=item.id)

    def _revoke_rules_referring_to(self, group_id: str) -> None:
        """The rules other groups of the VPC hold that admit `group_id` (the controller's on the node security
        group): a group still referred to cannot be deleted."""
        pages = self._ec2.get_paginator("describe_security_groups").paginate(
            Filters=[{"Name": "vpc-id", "Values": [self.vpc_id]}]
        )
        for page in pages:
            for group in page["SecurityGroups"]:
                for permission in group.get("IpPermissions", []):
                    pairs = [p for p in permission.get("UserIdGroupPairs", []) if p.get("GroupId") == group_id]
                    if pairs and group["GroupId"] != group_id:
                        rule: IpPermissionTypeDef = {"IpProtocol": permission["IpProtocol"], "UserIdGroupPairs": pairs}
                        if "FromPort" in permission:
                            rule["FromPort"], rule["ToPort"] = permission["FromPort"], permission["ToPort"]
                        self._ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[rule])

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


GONE = ("LoadBalancerNotFound", "TargetGroupNotFound")  # elbv2 DescribeTags, for an ARN that no longer exists
REMOVAL_ORDER = ("load-balancer", "target-group", "security-group", "network-interface", "cluster-security-group")


def _tags(tags: Iterable[Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags}


def _owner(tags: dict[str, str]) -> str:
    return next((tags[key] for key in OWNER_TAGS if key in tags), "")
