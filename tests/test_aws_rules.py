"""The offline cloud refuses what AWS refuses: each rule refuses a bad request and passes a good one."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest
from gpu_platform.offline import rules as aws_rules
from gpu_platform.offline.engine import RefusedByAws, Resource, run_program
from gpu_platform.offline.wire import UNKNOWN

from tests.planning import MINIMAL, ROOT, plan_project, stack_config

URN = "urn:pulumi:test::gpu-platform::{type}::thing"
PROVIDER = Resource(
    urn="urn:pulumi:test::gpu-platform::pulumi:providers:aws::aws",
    type="pulumi:providers:aws",
    name="aws",
    custom=True,
    id="p1",
    inputs={"region": "us-east-1", "defaultTags": json.dumps({"tags": {"team": "ml"}})},
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
NODE_GROUP = {
    "clusterName": "gpu",
    "nodeGroupName": "serving",
    "tags": {"product": "inference"},
    "labels": {"gpu-platform.io/pool": "serving"},
    "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
    "scalingConfig": {"minSize": 0, "maxSize": 4, "desiredSize": 1},
    "launchTemplate": {"id": "lt-1", "version": "1"},
    "instanceTypes": ["g6.xlarge"],
    "amiType": "AL2023_x86_64_NVIDIA",
}
TEMPLATE = Resource(
    urn=URN.format(type="aws:ec2/launchTemplate:LaunchTemplate") + "-lt",
    type="aws:ec2/launchTemplate:LaunchTemplate",
    name="lt",
    custom=True,
    id="lt-1",
    provider="urn:pulumi:test::gpu-platform::pulumi:providers:aws::aws::p1",
    inputs={"name": "serving-lt", "metadataOptions": {"httpTokens": "required"}},
)


def resource(type_: str, inputs: dict, id_: str = "id-1") -> Resource:
    return Resource(
        urn=URN.format(type=type_),
        type=type_,
        name="thing",
        custom=True,
        id=id_,
        inputs=inputs,
        provider=f"{PROVIDER.urn}::{PROVIDER.id}",
    )


def judged(type_: str, inputs: dict, *others: Resource) -> list[str]:
    return aws_rules.refusals([PROVIDER, *others, resource(type_, inputs)])


# (rule, type, a good request, what makes it bad, what the refusal says)
CASES = [
    (
        "tags",
        "aws:s3/bucket:Bucket",
        {"bucket": "models-1", "tags": {"a": "b"}},
        {"tags": {f"k{i}": "v" for i in range(50)}},
        "51 tags (with the provider's default tags)",
    ),
    (
        "tags",
        "aws:s3/bucket:Bucket",
        {"bucket": "models-1", "tags": {"a": "b"}},
        {"tags": {"AWS:owner": "me"}},
        "starts with 'AWS:', which AWS reserves",
    ),
    (
        "tags",
        "aws:s3/bucket:Bucket",
        {"bucket": "models-1", "tags": {"a": "b"}},
        {"tags": {"k" * 129: "v"}},
        "is 129 characters; AWS takes 1 to 128",
    ),
    (
        "tags",
        "aws:s3/bucket:Bucket",
        {"bucket": "models-1", "tags": {"a": "b"}},
        {"tags": {"a": "v" * 257}},
        "value of 257 characters",
    ),
    (
        "eks-cluster-name",
        "aws:eks/cluster:Cluster",
        {"name": "gpu-prod", "version": "1.35"},
        {"name": "-gpu"},
        "must start with a letter or digit",
    ),
    (
        "eks-cluster-name",
        "aws:eks/cluster:Cluster",
        {"name": "gpu-prod", "version": "1.35"},
        {"name": "g" * 101},
        "is 101 characters",
    ),
    (
        "eks-cluster-version",
        "aws:eks/cluster:Cluster",
        {"name": "gpu-prod", "version": "1.35"},
        {"version": "1.29"},
        "EKS no longer creates clusters at Kubernetes 1.29",
    ),
    (
        "eks-cluster-version",
        "aws:eks/cluster:Cluster",
        {"name": "gpu-prod", "version": "1.36"},
        {"version": "1.19"},
        "EKS no longer creates clusters at Kubernetes 1.19",
    ),
    (
        "eks-cluster-version",
        "aws:eks/cluster:Cluster",
        {"name": "gpu-prod", "version": "1.35"},
        {"version": "latest"},
        "is not a minor such as 1.35",
    ),
    (
        "eks-nodegroup-labels",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"labels": {"node.kubernetes.io/pool": "serving"}},
        "has a prefix EKS refuses on node groups",
    ),
    (
        "eks-nodegroup-labels",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"labels": {"team": "a b"}},
        "label 'team' has the value 'a b'",
    ),
    (
        "eks-nodegroup-labels",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"labels": {"gpu-platform.io/pool": "s" * 64}},
        "value of 64 characters",
    ),
    (
        "eks-nodegroup-labels",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"labels": {"gpu-platform.io/" + "p" * 60: "x"}},
        "is 76 characters; EKS takes 1 to 63",
    ),
    (
        "eks-nodegroup-taints",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]},
        "effect 'NoSchedule'",
    ),
    (
        "eks-nodegroup-taints",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"taints": [{"key": f"k{i}", "value": "", "effect": "NO_SCHEDULE"} for i in range(51)]},
        "51 taints",
    ),
    (
        "eks-nodegroup-taints",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"taints": [{"key": "k" * 64, "value": "", "effect": "NO_SCHEDULE"}]},
        "must be 1 to 63 characters",
    ),
    (
        "eks-nodegroup-taints",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"taints": ["nvidia.com/gpu"]},
        "is not an object with key, value and effect",
    ),
    (
        "eks-nodegroup-scaling",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"scalingConfig": {"minSize": 3, "maxSize": 2, "desiredSize": 2}},
        "minSize 3 is over maxSize 2",
    ),
    (
        "eks-nodegroup-scaling",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"scalingConfig": {"minSize": 0, "maxSize": 4, "desiredSize": 5}},
        "desiredSize 5 is outside",
    ),
    (
        "eks-nodegroup-scaling",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"scalingConfig": {"minSize": 0, "maxSize": 0}},
        "maxSize 0; EKS takes 1 or more",
    ),
    (
        "eks-nodegroup-scaling",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"scalingConfig": {"minSize": 0, "maxSize": 451}},
        "over the quota of 450 nodes",
    ),
    (
        "eks-nodegroup-launch-template",
        "aws:eks/nodeGroup:NodeGroup",
        NODE_GROUP,
        {"diskSize": 100},
        "diskSize with a launch template",
    ),
    (
        "launch-template-name",
        "aws:ec2/launchTemplate:LaunchTemplate",
        {"name": "serving-lt"},
        {"name": "lt"},
        "is 2 characters; AWS takes 3 to 128",
    ),
    (
        "launch-template-name",
        "aws:ec2/launchTemplate:LaunchTemplate",
        {"name": "serving-lt"},
        {"name": "serving lt"},
        "may hold only letters",
    ),
    (
        "security-group",
        "aws:ec2/securityGroup:SecurityGroup",
        {"name": "nodes", "description": "Nodes"},
        {"name": "sg-nodes"},
        "starts with 'sg-'",
    ),
    (
        "security-group",
        "aws:ec2/securityGroup:SecurityGroup",
        {"name": "nodes", "description": "Nodes (GPU)"},
        {"description": "Nodes % GPU"},
        "may hold only letters",
    ),
    ("iam-role", "aws:iam/role:Role", {"name": "gpu-node", "assumeRolePolicy": TRUST}, {"name": "r" * 65}, "role name"),
    (
        "iam-role",
        "aws:iam/role:Role",
        {"name": "gpu-node", "assumeRolePolicy": TRUST},
        {"name": "gpu node"},
        "may hold only letters",
    ),
    (
        "iam-role",
        "aws:iam/role:Role",
        {"name": "gpu-node", "assumeRolePolicy": TRUST},
        {"assumeRolePolicy": json.dumps({"Statement": [{"Sid": "x" * 2100}]})},
        "over the quota of 2,048",
    ),
    (
        "iam-role",
        "aws:iam/role:Role",
        {"name": "gpu-node", "assumeRolePolicy": TRUST},
        {"path": "platform"},
        "must start and end with '/'",
    ),
    (
        "iam-role",
        "aws:iam/role:Role",
        {"name": "gpu-node", "assumeRolePolicy": TRUST},
        {"name": "rôle-ü"},
        "may hold only letters",
    ),
    (
        "iam-role-inline-policies",
        "aws:iam/role:Role",
        {"name": "gpu-node", "assumeRolePolicy": TRUST},
        {"inlinePolicies": [{"name": "a", "policy": "x" * 6000}, {"name": "b", "policy": "y" * 5000}]},
        "11000 characters together",
    ),
    (
        "iam-policy",
        "aws:iam/policy:Policy",
        {"name": "autoscaler", "policy": "{}"},
        {"name": "auto scaler"},
        "may hold only letters",
    ),
    (
        "iam-role-policy",
        "aws:iam/rolePolicy:RolePolicy",
        {"name": "read-models", "role": "r", "policy": "{}"},
        {"name": "read models"},
        "reserves",
    ),
    (
        "iam-policy",
        "aws:iam/policy:Policy",
        {"name": "autoscaler", "policy": "{}"},
        {"policy": json.dumps({"Statement": [{"Sid": "x" * 6200}]})},
        "at most 6,144",
    ),
    (
        "iam-policy-arn",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"},
        {"policyArn": "AmazonEKSWorkerNodePolicy"},
        "is not an IAM policy ARN",
    ),
    (
        "s3-bucket-name",
        "aws:s3/bucket:Bucket",
        {"bucket": "gpu-platform-models"},
        {"bucket": "GPU_models"},
        "may hold only lower-case letters",
    ),
    (
        "s3-bucket-name",
        "aws:s3/bucket:Bucket",
        {"bucket": "gpu-platform-models"},
        {"bucket": "gpu-platform-" + "m" * 60},
        "S3 takes 3 to 63",
    ),
    (
        "s3-bucket-name",
        "aws:s3/bucket:Bucket",
        {"bucket": "gpu-platform-models"},
        {"bucket": "192.168.5.4"},
        "formatted as an IP address",
    ),
    (
        "s3-bucket-name",
        "aws:s3/bucket:Bucket",
        {"bucket": "gpu-platform-models"},
        {"bucket": "xn--models"},
        "starts with 'xn--'",
    ),
    (
        "s3-bucket-policy-size",
        "aws:s3/bucketPolicy:BucketPolicy",
        {"bucket": "b", "policy": "{}"},
        {"policy": "x" * 20481},
        "at most 20 KB",
    ),
    (
        "kms-key-policy-size",
        "aws:kms/key:Key",
        {"policy": "{}", "deletionWindowInDays": 30},
        {"policy": "x" * 32769},
        "at most 32 KB",
    ),
    (
        "kms-key-policy-size",
        "aws:kms/key:Key",
        {"policy": "{}", "deletionWindowInDays": 30},
        {"deletionWindowInDays": 3},
        "takes 7 to 30",
    ),
    (
        "kms-alias-name",
        "aws:kms/alias:Alias",
        {"name": "alias/gpu-logs", "targetKeyId": "k"},
        {"name": "gpu-logs"},
        "must be 'alias/'",
    ),
    (
        "kms-alias-name",
        "aws:kms/alias:Alias",
        {"name": "alias/gpu-logs", "targetKeyId": "k"},
        {"name": "alias/aws/logs"},
        "reserves for its managed keys",
    ),
    (
        "log-group",
        "aws:cloudwatch/logGroup:LogGroup",
        {"name": "/aws/eks/gpu/cluster", "retentionInDays": 0},
        {"retentionInDays": 45},
        "retentionInDays 45",
    ),
    (
        "log-group",
        "aws:cloudwatch/logGroup:LogGroup",
        {"name": "/aws/eks/gpu/cluster", "retentionInDays": 90},
        {"name": "/aws/eks/gpu cluster"},
        "may hold only letters",
    ),
]


@pytest.mark.parametrize(("rule", "type_", "good", "bad", "says"), CASES, ids=[f"{c[0]}:{c[4][:30]}" for c in CASES])
def test_each_rule_refuses_the_bad_request_and_passes_the_good_one(rule, type_, good, bad, says):
    assert judged(type_, good, TEMPLATE) == []
    refused = judged(type_, {**good, **bad}, TEMPLATE)
    assert len(refused) >= 1 and all(line.startswith(URN.format(type=type_) + f": {rule}: ") for line in refused)
    assert any(says in line for line in refused), refused
    source = aws_rules.RULE_BY_NAME[rule].source
    assert all(line.endswith(f"[{source}]") and "\n" not in line for line in refused)


def test_a_launch_template_that_names_an_instance_type_or_an_ami_is_judged_with_its_node_group():
    template = Resource(
        **{
            **TEMPLATE.__dict__,
            "inputs": {**TEMPLATE.inputs, "instanceType": "g6.xlarge", "imageId": "ami-0123456789abcdef0"},
        }
    )
    refused = judged("aws:eks/nodeGroup:NodeGroup", NODE_GROUP, template)
    assert any("instanceTypes on the node group and instanceType in its launch template" in r for r in refused)
    assert any("amiType 'AL2023_x86_64_NVIDIA' with a launch template that names an AMI" in r for r in refused)
    assert judged("aws:eks/nodeGroup:NodeGroup", {**NODE_GROUP, "instanceTypes": None, "amiType": None}, template) == []


def test_security_group_rules_are_counted_per_group_across_the_plan():
    group = resource("aws:ec2/securityGroup:SecurityGroup", {"name": "nodes", "description": "d"}, id_="sg-1")

    def rules(n):
        return [
            Resource(
                urn=f"urn:pulumi:test::gpu-platform::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::r{i}",
                type="aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                name=f"r{i}",
                custom=True,
                id=f"sgr-{i}",
                inputs={"securityGroupId": "sg-1", "ipProtocol": "tcp", "cidrIpv4": f"10.0.{i}.0/24"},
            )
            for i in range(n)
        ]

    assert aws_rules.refusals([group, *rules(60)]) == []
    refused = aws_rules.refusals([group, *rules(61)])
    assert refused == [
        (
            f"{group.urn}: security-group-rules: 61 IPv4 ingress rules; the quota is 60 per security group "
            f"(raise it first) [{aws_rules.RULE_BY_NAME['security-group-rules'].source}]"
        )
    ]


def test_ipv4_and_ipv6_rules_are_counted_apart_and_each_cidr_is_a_rule():
    # amazon-vpc-limits.html: the 60-rule quota holds for IPv4 and IPv6 rules separately.
    entry = {"protocol": "tcp", "fromPort": 443, "toPort": 443}
    group = resource(
        "aws:ec2/securityGroup:SecurityGroup",
        {
            "name": "n",
            "description": "d",
            "ingress": [
                {**entry, "cidrBlocks": [f"10.0.{i}.0/24" for i in range(40)]},
                {**entry, "ipv6CidrBlocks": [f"2600:1f00:{i}::/56" for i in range(30)]},
            ],
        },
        id_="sg-9",
    )
    assert aws_rules.refusals([group]) == []
    group.inputs["ingress"][0]["cidrBlocks"] += ["10.1.0.0/24"] * 21
    assert ["61 IPv4 ingress rules" in line for line in aws_rules.refusals([group])] == [True]


def test_a_roles_inline_policies_count_together_with_its_role_policy_resources():
    role = resource(
        "aws:iam/role:Role",
        {"name": "gpu-node", "assumeRolePolicy": TRUST, "inlinePolicies": [{"name": "a", "policy": "x" * 6000}]},
    )
    policy = Resource(
        urn="urn:pulumi:test::gpu-platform::aws:iam/rolePolicy:RolePolicy::p",
        type="aws:iam/rolePolicy:RolePolicy",
        name="p",
        custom=True,
        id="gpu-node:p",
        inputs={"name": "p", "role": "gpu-node", "policy": "y" * 5000},
    )
    assert ["inline policies of 11000 characters together" in r for r in aws_rules.refusals([role, policy])] == [True]
    assert aws_rules.refusals([role]) == []


def test_what_the_provider_normalises_or_drops_is_judged_as_sent():
    # The provider sends policies as compact JSON (structure.NormalizeJsonString) and drops `aws:` tag keys
    # (KeyValueTags.IgnoreSystem): an indented policy and system tags are no refusal.
    statement = [{"Sid": f"s{i}", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"} for i in range(150)]
    indented = json.dumps({"Version": "2012-10-17", "Statement": statement}, indent=12)
    assert len(indented) > 20 * 1024
    assert judged("aws:s3/bucketPolicy:BucketPolicy", {"bucket": "b", "policy": indented}) == []
    tags = {**{f"k{i}": "v" for i in range(49)}, "aws:cloudformation:stack-name": "x"}
    assert judged("aws:s3/bucket:Bucket", {"bucket": "models-1", "tags": tags}) == []


def test_more_than_thirty_node_groups_in_one_cluster_is_over_the_quota():
    groups = [
        Resource(
            urn=f"urn:pulumi:test::gpu-platform::aws:eks/nodeGroup:NodeGroup::g{i}",
            type="aws:eks/nodeGroup:NodeGroup",
            name=f"g{i}",
            custom=True,
            id=f"gpu:g{i}",
            inputs={**NODE_GROUP, "launchTemplate": None},
        )
        for i in range(31)
    ]
    assert aws_rules.refusals(groups[:30]) == []
    assert ["eks-nodegroups-per-cluster" in line for line in aws_rules.refusals(groups)] == [True]


def test_values_not_known_yet_are_not_judged():
    assert judged("aws:s3/bucket:Bucket", {"bucket": UNKNOWN, "tags": {"a": UNKNOWN}}) == []
    assert (
        judged("aws:eks/nodeGroup:NodeGroup", {**NODE_GROUP, "scalingConfig": {"minSize": UNKNOWN, "maxSize": 0}}) == []
    )


def test_the_provider_default_tags_count_towards_the_fifty():
    tags = {f"k{i}": "v" for i in range(49)}
    assert judged("aws:s3/bucket:Bucket", {"bucket": "models-1", "tags": tags}) == []  # 49 + team
    assert judged("aws:s3/bucket:Bucket", {"bucket": "models-1", "tags": {**tags, "x": "y"}}) != []


def test_both_stacks_pass_every_rule():
    for stack in ("dev", "prod"):
        assert aws_rules.refusals(run_program(ROOT, stack).resources) == []


def test_a_program_aws_would_refuse_stops_the_plan_with_one_line_per_refusal(tmp_path: Path):
    def program():
        aws.s3.Bucket("models", bucket="Models_Bucket", tags={"AWS:team": "ml"})
        aws.cloudwatch.LogGroup("logs", name="/gpu/logs", retention_in_days=45)

    with pytest.raises(RefusedByAws) as refused:
        run_program(ROOT, "test", stack_config(MINIMAL), program=program)
    assert len(refused.value.refusals) == 3
    assert isinstance(refused.value, pulumi.RunError)


def test_make_plan_shows_the_refusals_and_exits_2_without_a_plan(tmp_path: Path):
    run, out = plan_project(
        tmp_path,
        "dev",
        {
            "Pulumi.yaml": "name: refused\nruntime: python\n",
            "Pulumi.dev.yaml": "config:\n  aws:region: us-west-2\n",
            "__main__.py": "import pulumi_aws as aws\n"
            "aws.cloudwatch.LogGroup('logs', name='/gpu/logs', retention_in_days=45)\n",
        },
    )
    assert run.returncode == 2, run.stderr
    lines = run.stderr.splitlines()
    assert lines[0] == "error: AWS would refuse 1 request(s) of this plan:"
    assert lines[1].startswith(
        "  urn:pulumi:dev::refused::aws:cloudwatch/logGroup:LogGroup::logs: log-group: retentionInDays 45;"
    )
    assert "Traceback" not in run.stderr and not out.exists()


def test_the_readme_lists_every_rule_with_its_source():
    readme = (ROOT / "README.md").read_text()
    for rule_ in aws_rules.RULES:
        assert f"| `{rule_.name}` |" in readme and rule_.source in readme, rule_.name
