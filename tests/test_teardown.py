"""Teardown: the program removes load balancers before their controller, and `PlatformStack.destroy()` lists,
against moto's AWS, what the cluster's controllers made outside Pulumi, removing it only when asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from gpu_platform.automation import (
    Backend,
    LeftoversBlockDestroyError,
    OperationFailedError,
    PlatformStack,
    load_config,
)
from gpu_platform.automation.leftovers import AwsLeftovers, Leftover
from moto import mock_aws

from tests.automation_cli import PROTECTED, VPC_DEPENDENCY, FakePulumi
from tests.planning import Plan

REGION = "us-west-2"  # the dev stack's
CLUSTER = "gpu-platform-dev-cluster"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


# --- the program's order ---------------------------------------------------------------------------------


def test_destroy_deletes_every_load_balancer_maker_before_the_controller_and_waits_for_it(prod_plan: Plan):
    """Pulumi deletes dependents first; deleting an Ingress waits until it is gone (pulumi-kubernetes
    await.Deletion, unless `pulumi.com/skipAwait`), and the controller holds it with its finalizer
    `ingress.k8s.aws/resources` until the load balancer is deleted (controller pkg/shared_constants/finalizers.go).
    """
    [controller] = [
        r
        for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release")
        if r["inputs"]["chart"] == "aws-load-balancer-controller"
    ]
    makers = prod_plan.of_type(INGRESS) + [
        s for s in prod_plan.of_type("kubernetes:core/v1:Service") if s["inputs"]["spec"].get("type") == "LoadBalancer"
    ]
    assert makers, "the prod plan serves a model behind an Ingress"
    for maker in makers:
        assert controller["urn"] in maker["dependencies"], maker["urn"]
        assert "pulumi.com/skipAwait" not in maker["inputs"]["metadata"].get("annotations", {})
    # the controller keeps its permissions and its nodes until it has removed them
    role_policy_owner = {d.rsplit("::", 1)[1] for d in controller["dependencies"]}
    assert any(name.endswith("lb-controller-role") for name in role_policy_owner)
    assert any("system" in name for name in role_policy_owner)


# --- what the controllers leave in AWS ---------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A VPC with what the controllers made for this cluster, and things they made for another cluster or VPC."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        elbv2 = boto3.client("elbv2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        other_vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
                "SubnetId"
            ]
            for i, zone in enumerate("ab")
        ]
        ours = {"elbv2.k8s.aws/cluster": CLUSTER, "ingress.k8s.aws/stack": "search/chat-small"}
        theirs = {"elbv2.k8s.aws/cluster": "another-cluster", "ingress.k8s.aws/stack": "search/chat-small"}

        def tags(values: dict[str, str]) -> list[dict[str, str]]:
            return [{"Key": k, "Value": v} for k, v in values.items()]

        def security_group(name: str, in_vpc: str, values: dict[str, str]) -> str:
            spec = [{"ResourceType": "security-group", "Tags": tags(values)}]
            return ec2.create_security_group(
                GroupName=name, Description="[k8s] Managed SecurityGroup for LoadBalancer", VpcId=in_vpc,
                TagSpecifications=spec,
            )["GroupId"]  # fmt: skip

        frontend = security_group("k8s-search-chatsmal-1a2b3c", vpc, ours)
        backend = security_group(
            "k8s-traffic-gpuplatformdevcluster-4d5e6f", vpc, {**ours, "elbv2.k8s.aws/resource": "backend-sg"}
        )
        # the controller opens the nodes' group to its backend group (networking_manager.go)
        nodes = security_group("gpu-platform-dev-nodes", vpc, {"Name": "nodes"})
        # EKS's own cluster group (EKS deletes it with the cluster, unless a leaked interface holds it)
        security_group("eks-cluster-sg-gpu-platform-dev-cluster-1234567890", vpc, {"aws:eks:cluster-name": CLUSTER})
        ec2.authorize_security_group_ingress(
            GroupId=nodes,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 8000,
                    "ToPort": 8000,
                    "UserIdGroupPairs": [
                        {"GroupId": backend, "Description": "elbv2.k8s.aws/targetGroupBinding=shared"}
                    ],
                }
            ],
        )
        security_group("k8s-search-chatsmal-other", vpc, theirs)
        security_group("k8s-search-chatsmal-elsewhere", other_vpc, ours)
        security_group("node-group-remote-access", vpc, {"Name": "remote-access"})
        for name, values in (("k8s-search-chatsmal-1a2b3c4d5e", ours), ("k8s-search-chatsmal-f6e5d4c3b2", theirs)):
            elbv2.create_load_balancer(
                Name=name, Subnets=subnets, SecurityGroups=[frontend], Scheme="internal", Tags=tags(values)
            )
        for name, values in (("k8s-search-chatsmal-5e6f7a8b9c", ours), ("k8s-search-chatsmal-0a1b2c3d4e", theirs)):
            elbv2.create_target_group(
                Name=name, Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip", Tags=tags(values)
            )
        # the VPC CNI's (getLeakedENIs: its node tag, its description), a user's, one described otherwise
        for description, values in (
            ("aws-K8S-i-0123456789abcdef0", {"node.k8s.amazonaws.com/instance_id": "i-0123456789abcdef0"}),
            ("a team's own interface", {"Name": "theirs"}),
            ("attached by hand", {"node.k8s.amazonaws.com/instance_id": "i-0fedcba9876543210"}),
        ):
            ec2.create_network_interface(
                SubnetId=subnets[0],
                Description=description,
                TagSpecifications=[{"ResourceType": "network-interface", "Tags": tags(values)}],
            )
        yield {"vpc": vpc, "frontend": frontend, "backend": backend, "nodes": nodes, "subnets": ",".join(subnets)}


def kinds_and_names(items: tuple[Leftover, ...]) -> list[tuple[str, str]]:
    return sorted((item.kind, item.name) for item in items)


OURS = [
    ("cluster-security-group", "eks-cluster-sg-gpu-platform-dev-cluster-1234567890"),
    ("load-balancer", "k8s-search-chatsmal-1a2b3c4d5e"),
    ("network-interface", "aws-K8S-i-0123456789abcdef0"),
    ("security-group", "k8s-search-chatsmal-1a2b3c"),
    ("security-group", "k8s-traffic-gpuplatformdevcluster-4d5e6f"),
    ("target-group", "k8s-search-chatsmal-5e6f7a8b9c"),
]


def everything() -> dict[str, int]:
    """How many of each kind the account holds, whoever made them."""
    ec2, elbv2 = boto3.client("ec2", region_name=REGION), boto3.client("elbv2", region_name=REGION)
    return {
        "load-balancer": len(elbv2.describe_load_balancers()["LoadBalancers"]),
        "target-group": len(elbv2.describe_target_groups()["TargetGroups"]),
        "security-group": len(ec2.describe_security_groups()["SecurityGroups"]),
        "network-interface": len(ec2.describe_network_interfaces()["NetworkInterfaces"]),
    }


def test_listing_finds_what_the_controllers_made_for_this_cluster_in_its_vpc_and_changes_nothing(aws):
    before = everything()
    found, errors = AwsLeftovers(CLUSTER, aws["vpc"], REGION).find()
    assert (kinds_and_names(found), errors) == (OURS, ())
    [balancer] = [item for item in found if item.kind == "load-balancer"]
    assert balancer.owner == "search/chat-small" and balancer.id.startswith("arn:aws:elasticloadbalancing:")
    assert "load-balancer k8s-search-chatsmal-1a2b3c4d5e (arn:" in str(balancer)
    assert str(balancer).endswith(" for search/chat-small")
    assert everything() == before


def test_removing_deletes_only_this_clusters_leftovers_and_the_rules_that_refer_to_them(aws):
    lister = AwsLeftovers(CLUSTER, aws["vpc"], REGION)
    before = everything()
    removed, errors = lister.remove(lister.find()[0])
    assert (kinds_and_names(removed), errors) == (OURS, ())
    assert lister.find() == ((), ())
    security_groups = ("security-group", "cluster-security-group")
    assert everything() == {
        kind: before[kind] - sum(1 for k, _ in OURS if k == kind or (kind == "security-group" and k in security_groups))
        for kind in before
    }
    # the cluster's group goes last: leaked interfaces hold it
    assert [item.kind for item in removed][-2:] == ["network-interface", "cluster-security-group"]
    ec2 = boto3.client("ec2", region_name=REGION)
    [nodes] = ec2.describe_security_groups(GroupIds=[aws["nodes"]])["SecurityGroups"]
    assert nodes["IpPermissions"] == []  # the node group survives, without the rule to the deleted group


def test_more_load_balancer_resources_than_one_describe_tags_call_takes_are_all_listed(aws):
    elbv2 = boto3.client("elbv2", region_name=REGION)
    for i in range(25):  # DescribeTags takes 20 ARNs
        elbv2.create_target_group(
            Name=f"k8s-search-many-{i:02}", Protocol="HTTP", Port=8000, VpcId=aws["vpc"], TargetType="ip",
            Tags=[{"Key": "elbv2.k8s.aws/cluster", "Value": CLUSTER}],
        )  # fmt: skip
    found, _ = AwsLeftovers(CLUSTER, aws["vpc"], REGION).find()
    assert sum(1 for item in found if item.name.startswith("k8s-search-many-")) == 25


def test_a_security_group_still_in_use_is_retried_until_the_load_balancers_interfaces_are_gone():
    waits: list[float] = []
    calls = iter([DependencyViolation, DependencyViolation, None])

    def delete() -> None:
        error = next(calls)
        if error is not None:
            raise error

    with mock_aws():
        AwsLeftovers(CLUSTER, "vpc-0abc", REGION, sleep=waits.append)._retry_while_in_use(delete)
    assert waits == [10, 10]


def test_a_security_group_in_use_for_too_long_is_reported_not_retried_for_ever(aws):
    lister = AwsLeftovers(CLUSTER, aws["vpc"], REGION, sleep=lambda _: None)
    group = Leftover("security-group", aws["frontend"], "k8s-search-chatsmal-1a2b3c", "search/chat-small")
    calls: list[int] = []

    def delete() -> None:
        calls.append(1)
        raise DependencyViolation

    with pytest.raises(ClientError):
        lister._retry_while_in_use(delete)
    assert len(calls) == 12
    # and through remove(): the error names the group, the rest goes on
    lister._ec2.delete_security_group = lambda **_: delete()  # type: ignore[method-assign]
    removed, errors = lister.remove([group])
    assert removed == () and errors[0].startswith("could not remove security-group k8s-search-chatsmal-1a2b3c (sg-")


DependencyViolation = ClientError(
    {"Error": {"Code": "DependencyViolation", "Message": "resource sg-0abc has a dependent object"}},
    "DeleteSecurityGroup",
)


# --- PlatformStack.destroy() ---------------------------------------------------------------------------------


def deployed(aws: dict[str, str], tmp_path: Path, destroy_errors: tuple[str, ...] = ()) -> PlatformStack:
    outputs = {"clusterName": (CLUSTER, False), "vpcId": (aws["vpc"], False)}
    cli = FakePulumi(("dev",), outputs=outputs, destroy_errors=destroy_errors)
    backend = Backend.local(tmp_path / "state", passphrase="correct horse battery staple")
    stack = PlatformStack.inline(
        "dev", load_config("dev"), backend=backend, work_dir=tmp_path / "workspace", pulumi_command=cli
    )
    stack.up(preview_first=False)
    return stack


def cluster_still_running(aws: dict[str, str]) -> None:
    boto3.client("eks", region_name=REGION).create_cluster(
        name=CLUSTER,
        roleArn="arn:aws:iam::123456789012:role/gpu-platform-dev-cluster",
        resourcesVpcConfig={"subnetIds": aws["subnets"].split(",")},
    )


def test_destroy_reports_what_it_found_and_what_is_left_without_removing_anything(aws, tmp_path):
    stack = deployed(aws, tmp_path)
    before = everything()
    result = stack.destroy()
    assert result.leftovers is not None
    assert kinds_and_names(result.leftovers.found) == OURS
    assert kinds_and_names(result.leftovers.left_behind) == OURS  # the fake CLI leaves AWS as it was
    assert result.leftovers.removed == () and result.leftovers.errors == ()
    assert everything() == before


def test_destroy_removes_the_leftovers_only_with_the_flag_once_the_cluster_is_gone(aws, tmp_path):
    result = deployed(aws, tmp_path).destroy(remove_leftovers=True)
    assert result.leftovers is not None and kinds_and_names(result.leftovers.removed) == OURS
    assert AwsLeftovers(CLUSTER, aws["vpc"], REGION).find() == ((), ())


def test_a_destroy_blocked_by_leftovers_names_them_and_the_flag_that_clears_them(aws, tmp_path):
    stack = deployed(aws, tmp_path, destroy_errors=(VPC_DEPENDENCY,))
    with pytest.raises(LeftoversBlockDestroyError) as error:
        stack.destroy()
    message = str(error.value)
    assert "DependencyViolation" in message and "load-balancer k8s-search-chatsmal-1a2b3c4d5e" in message
    assert message.endswith("Run destroy(remove_leftovers=True) to remove them and destroy again")
    assert kinds_and_names(error.value.leftovers) == OURS


def test_with_the_flag_a_blocked_destroy_removes_the_leftovers_and_runs_again(aws, tmp_path):
    stack = deployed(aws, tmp_path, destroy_errors=(VPC_DEPENDENCY,))
    result = stack.destroy(remove_leftovers=True)
    assert result.result == "succeeded" and result.leftovers is not None
    assert kinds_and_names(result.leftovers.removed) == OURS
    assert stack.outputs() == {}


@pytest.mark.parametrize(
    ("failure", "cluster_running"),
    [(PROTECTED, False), (VPC_DEPENDENCY, True)],
    ids=["a-protected-bucket", "the-cluster-still-running"],
)
def test_a_destroy_that_failed_otherwise_removes_nothing_even_with_the_flag(aws, tmp_path, failure, cluster_running):
    """A protected bucket stops prod's destroy before anything is deleted: the load balancers then still serve,
    and a running controller would make again what was removed."""
    if cluster_running:
        cluster_still_running(aws)
    stack = deployed(aws, tmp_path, destroy_errors=(failure,))
    before = everything()
    with pytest.raises(OperationFailedError) as error:
        stack.destroy(remove_leftovers=True)
    assert not isinstance(error.value, LeftoversBlockDestroyError)
    assert everything() == before


def test_a_running_clusters_load_balancers_are_listed_but_never_removed(aws, tmp_path):
    cluster_still_running(aws)
    result = deployed(aws, tmp_path).destroy(remove_leftovers=True)
    assert result.leftovers is not None and kinds_and_names(result.leftovers.left_behind) == OURS
    assert result.leftovers.removed == ()


def test_without_credentials_destroy_still_runs_and_says_it_could_not_list(tmp_path, monkeypatch):
    stack = deployed({"vpc": "vpc-0abc"}, tmp_path)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = stack.destroy()
    assert result.result == "succeeded" and result.leftovers is not None
    assert result.leftovers.errors[0].startswith("could not list load balancers: Unable to locate credentials")


def test_when_eks_will_not_say_whether_the_cluster_is_gone_nothing_is_removed_and_the_report_says_why(
    aws, tmp_path, monkeypatch
):
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no eks:DescribeCluster"}}, "x")

    def describe_cluster(self: AwsLeftovers) -> bool:
        raise denied

    monkeypatch.setattr(AwsLeftovers, "cluster_exists", describe_cluster)
    before = everything()
    result = deployed(aws, tmp_path).destroy(remove_leftovers=True)
    assert result.leftovers is not None and result.leftovers.removed == ()
    assert result.leftovers.errors[-1].startswith(
        f"could not learn whether cluster {CLUSTER} is gone, so removed nothing"
    )
    assert everything() == before
