"""The Network, read from plans: AZs from the region, subnets, NAT, endpoints, flow logs, tags."""

from __future__ import annotations

import inspect
import ipaddress
import json
from itertools import combinations

import pulumi_aws
import pytest
from gpu_platform.components import addressing
from gpu_platform.offline import cloud
from gpu_platform.offline.engine import run_program

from tests.planning import MINIMAL, ROOT, Plan, stack_config, with_changes

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE = "aws:ec2/route:Route"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def network_plan(az_count: int, region: str = "us-east-1", **changes) -> Plan:
    return Plan.of_config(with_changes(MINIMAL, {"region": region, "network.azCount": az_count, **changes}))


@pytest.fixture(scope="module", params=[2, 3, 6])
def sized(request) -> tuple[int, Plan]:
    return request.param, network_plan(request.param)


def subnets(plan: Plan, kind: str) -> list[dict]:
    return sorted((s for s in plan.of_type(SUBNET) if f"-{kind}-" in s["urn"]), key=lambda s: s["urn"])


def test_each_az_has_one_public_and_one_private_subnet_in_its_own_az(sized):
    az_count, plan = sized
    zones = plan.outputs["availabilityZones"]
    assert zones == [f"us-east-1{letter}" for letter in "abcdef"[:az_count]]
    for kind in ("public", "private"):
        assert sorted(s["inputs"]["availabilityZone"] for s in subnets(plan, kind)) == zones
    assert len(plan.outputs["privateSubnetIds"]) == len(plan.outputs["publicSubnetIds"]) == az_count


def test_subnet_cidrs_are_inside_the_vpc_and_never_overlap(sized):
    az_count, plan = sized
    vpc = ipaddress.IPv4Network(plan.of_type("aws:ec2/vpc:Vpc")[0]["inputs"]["cidrBlock"])
    blocks = [ipaddress.IPv4Network(s["inputs"]["cidrBlock"]) for s in plan.of_type(SUBNET)]
    assert len(blocks) == 2 * az_count
    assert all(b.subnet_of(vpc) for b in blocks)
    assert not any(a.overlaps(b) for a, b in combinations(blocks, 2))


@pytest.mark.parametrize(
    "az_count, private, public",
    [
        (2, ["10.0.0.0/20", "10.0.16.0/20"], ["10.0.128.0/22", "10.0.132.0/22"]),
        (3, ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"], ["10.0.128.0/22", "10.0.132.0/22", "10.0.136.0/22"]),
        (6, [f"10.0.{i * 16}.0/20" for i in range(6)], [f"10.0.{128 + i * 4}.0/22" for i in range(6)]),
    ],
)
def test_address_plan_gives_private_subnets_the_room(az_count, private, public):
    layout = addressing.subnet_layout(ipaddress.IPv4Network("10.0.0.0/16"), az_count)
    assert [str(n) for n in layout.private] == private
    assert [str(n) for n in layout.public] == public


@pytest.mark.parametrize("vpc", ["10.0.0.0/16", "172.16.0.0/20"])
@pytest.mark.parametrize("az_count", [2, 3, 4, 5])
def test_adding_an_az_never_moves_an_existing_subnet(vpc, az_count):
    now, later = (addressing.subnet_layout(ipaddress.IPv4Network(vpc), n) for n in (az_count, az_count + 1))
    assert later.private[:az_count] == now.private and later.public[:az_count] == now.public


def test_subnets_carry_load_balancer_role_tags_and_never_assign_public_ips(dev_plan):
    for subnet in subnets(dev_plan, "public"):
        assert subnet["inputs"]["tags"]["kubernetes.io/role/elb"] == "1"
        assert subnet["inputs"]["mapPublicIpOnLaunch"] is False
    for subnet in subnets(dev_plan, "private"):
        assert subnet["inputs"]["tags"]["kubernetes.io/role/internal-elb"] == "1"


@pytest.mark.parametrize("nat_gateways, expected", [("perAz", 3), ("single", 1)])
def test_nat_gateways_per_az_or_single_and_each_private_route_uses_one(nat_gateways, expected):
    plan = network_plan(3, **{"network.natGateways": nat_gateways})
    nats = plan.of_type(NAT)
    assert len(nats) == expected
    public_ids = {s["id"] for s in subnets(plan, "public")}
    assert {n["inputs"]["subnetId"] for n in nats} <= public_ids
    private_routes = [r for r in plan.of_type(ROUTE) if "-private-" in r["urn"]]
    assert len(private_routes) == 3
    assert {r["inputs"]["natGatewayId"] for r in private_routes} == {n["id"] for n in nats}
    assert all(r["inputs"]["destinationCidrBlock"] == "0.0.0.0/0" for r in private_routes)


def test_private_route_tables_send_each_az_to_its_own_nat_in_prod(prod_plan):
    tables = {t["id"]: t for t in prod_plan.of_type("aws:ec2/routeTable:RouteTable")}
    for route in (r for r in prod_plan.of_type(ROUTE) if "-private-" in r["urn"]):
        nat = prod_plan.by_id(route["inputs"]["natGatewayId"])
        nat_zone = prod_plan.by_id(nat["inputs"]["subnetId"])["inputs"]["availabilityZone"]
        table_name = tables[route["inputs"]["routeTableId"]]["inputs"]["tags"]["Name"]
        assoc = [
            a
            for a in prod_plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
            if a["inputs"]["routeTableId"] == route["inputs"]["routeTableId"]
        ]
        assert len(assoc) == 1, table_name
        assert prod_plan.by_id(assoc[0]["inputs"]["subnetId"])["inputs"]["availabilityZone"] == nat_zone


def test_private_nodes_reach_aws_apis_through_endpoints(dev_plan):
    endpoints = {e["inputs"]["serviceName"]: e["inputs"] for e in dev_plan.of_type(ENDPOINT)}
    region = "us-west-2"
    assert set(endpoints) == {f"com.amazonaws.{region}.{s}" for s in ("s3", "ecr.api", "ecr.dkr", "sts", "logs", "ec2")}
    s3 = endpoints[f"com.amazonaws.{region}.s3"]
    private_tables = {t["id"] for t in dev_plan.of_type("aws:ec2/routeTable:RouteTable") if "-private-" in t["urn"]}
    assert s3["vpcEndpointType"] == "Gateway" and set(s3["routeTableIds"]) == private_tables
    private_ids = set(dev_plan.outputs["privateSubnetIds"])
    for service in ("ecr.api", "ecr.dkr", "sts", "logs", "ec2"):
        endpoint = endpoints[f"com.amazonaws.{region}.{service}"]
        assert endpoint["vpcEndpointType"] == "Interface" and endpoint["privateDnsEnabled"] is True
        assert set(endpoint["subnetIds"]) == private_ids


def test_endpoint_security_group_admits_only_https_from_the_vpc(dev_plan):
    rule = dev_plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")[0]["inputs"]
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"], rule["cidrIpv4"]) == ("tcp", 443, 443, "10.20.0.0/16")
    assert dev_plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") == []
    default_sg = dev_plan.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")[0]["inputs"]
    assert "ingress" not in default_sg and "egress" not in default_sg


def test_flow_logs_go_to_a_log_group_through_a_role_only_the_flow_log_service_assumes(dev_plan):
    flow_log = dev_plan.of_type("aws:ec2/flowLog:FlowLog")[0]["inputs"]
    log_group = dev_plan.named("aws:cloudwatch/logGroup:LogGroup", "gpu-platform-dev-network-flow-logs")
    assert flow_log["trafficType"] == "ALL" and flow_log["logDestination"] == log_group["outputs"]["arn"]
    assert log_group["inputs"]["retentionInDays"] == 30
    role = dev_plan.by_id(flow_log["iamRoleArn"].rsplit("/", 1)[1])
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": cloud.ACCOUNT_ID},
                "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:us-west-2:{cloud.ACCOUNT_ID}:vpc-flow-log/*"},
            },
        }
    ]
    policy = json.loads(
        dev_plan.named("aws:iam/rolePolicy:RolePolicy", "gpu-platform-dev-network-flow-logs")["inputs"]["policy"]
    )
    arn = log_group["outputs"]["arn"]
    assert policy["Statement"] == [
        {
            "Sid": "WriteFlowLogs",
            "Effect": "Allow",
            "Resource": [arn, f"{arn}:*"],
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
        }
    ]


def test_flow_logs_can_be_switched_off():
    plan = network_plan(2, **{"network.flowLogs.enabled": False})
    assert plan.of_type("aws:ec2/flowLog:FlowLog") == []
    assert not [g for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup") if "flow-logs" in g["urn"]]
    assert not [r for r in plan.of_type("aws:iam/role:Role") if "vpc-flow-logs" in r["inputs"]["assumeRolePolicy"]]


def takes_tags(token: str) -> bool:
    """Whether pulumi_aws's resource class for a type token accepts `tags`."""
    module, cls = token.split(":")[1].split("/")[0], token.split(":")[2]
    return "tags" in inspect.signature(getattr(getattr(pulumi_aws, module), cls)._internal_init).parameters


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_taggable_aws_resource_carries_cost_tags_and_a_name(stack, request):
    plan = request.getfixturevalue(f"{stack}_plan")
    taggable = [r for r in plan.resources if r["type"].startswith("aws:") and takes_tags(r["type"])]
    assert {"aws:ec2/vpc:Vpc", "aws:s3/bucket:Bucket", "aws:kms/key:Key"} <= {r["type"] for r in taggable}
    for resource in taggable:
        tags = resource["inputs"].get("tags", {})
        assert tags.get("cost-center") == "ml-platform", resource["urn"]
        assert tags.get("product") == "inference", resource["urn"]
        assert tags.get("environment") == stack, resource["urn"]
        assert tags.get("Name"), resource["urn"]


def test_provider_applies_cost_tags_by_default_in_the_configured_region(prod_plan):
    provider = prod_plan.of_type("pulumi:providers:aws")[0]
    assert provider["inputs"]["region"] == "us-east-1"
    assert json.loads(provider["inputs"]["defaultTags"]) == {
        "tags": {"cost-center": "ml-platform", "environment": "prod", "product": "inference"}
    }
    aws_resources = [r for r in prod_plan.resources if r["type"].startswith("aws:")]
    assert {r["provider"] for r in aws_resources} == {f"{provider['urn']}::{provider['id']}"}


def test_asking_for_more_azs_than_the_region_has_fails_with_the_fix():
    with pytest.raises(Exception) as raised:
        run_program(ROOT, "test", stack_config(with_changes(MINIMAL, {"region": "us-west-2", "network.azCount": 6})))
    assert str(raised.value) == (
        "platform.network.azCount: the region has 4 AZs without opt-in "
        "(us-west-2a, us-west-2b, us-west-2c, us-west-2d); ask for 4 or fewer"
    )
