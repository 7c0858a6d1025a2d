"""Secrets that stay secret and data encrypted with the stack's own keys: log groups, Grafana's admin, nodes
reached without SSH, namespaces held to a Pod Security Standard."""

from __future__ import annotations

import json

import pytest

from tests.iam_eval import ALLOW, IMPLICIT_DENY, Request, decide
from tests.planning import Plan

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY = "aws:kms/key:Key"
ACCOUNT = "123456789012"


def logs_key(plan: Plan) -> dict:
    return next(k for k in plan.of_type(KEY) if k["urn"].endswith("-logs"))


@pytest.mark.parametrize("stack, region", [("dev", "us-west-2"), ("prod", "us-east-1")])
def test_every_log_group_is_encrypted_with_the_stacks_rotating_key(stack, region, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    key = logs_key(plan)
    assert key["inputs"]["enableKeyRotation"] is True
    groups = plan.of_type(LOG_GROUP)
    assert groups
    for group in groups:
        assert group["inputs"]["kmsKeyId"] == key["outputs"]["arn"], group["urn"]
        assert key["urn"] in group["dependencies"]  # the key exists before the group asks for it
    assert key.get("protect", False) is (stack == "prod")


@pytest.mark.parametrize("stack, region", [("dev", "us-west-2"), ("prod", "us-east-1")])
def test_the_logs_key_admits_cloudwatch_logs_for_these_groups_and_nothing_else(stack, region, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    policy = logs_key(plan)["inputs"]["policy"]
    logs = {"Service": f"logs.{region}.amazonaws.com"}

    def use(principal: dict, group: str | None, action: str = "kms:GenerateDataKey") -> str:
        context = (
            {}
            if group is None
            else {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}"}
        )
        return decide(policy, Request(action, "*", principal=principal, context=context))

    names = [g["inputs"]["name"] for g in plan.of_type(LOG_GROUP)]
    for name in names:
        assert use(logs, name) == ALLOW
        assert use(logs, name, "kms:Decrypt") == ALLOW
        assert use(logs, name, "kms:ScheduleKeyDeletion") == IMPLICIT_DENY
    assert use(logs, "/aws/lambda/someone-else") == IMPLICIT_DENY
    assert use(logs, None) == IMPLICIT_DENY  # no log group named: no use
    assert use({"Service": "logs.eu-west-1.amazonaws.com"}, names[0]) == IMPLICIT_DENY
    assert use({"Service": "s3.amazonaws.com"}, names[0]) == IMPLICIT_DENY
    # The account administers the key through IAM, as every key of the platform.
    assert use({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, None, "kms:PutKeyPolicy") == ALLOW


def test_nodes_can_be_reached_through_ssm_session_manager_and_not_ssh(prod_plan: Plan):
    role = prod_plan.named("aws:iam/role:Role", "gpu-platform-prod-cluster-nodes")
    policies = {
        a["inputs"]["policyArn"]
        for a in prod_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a["inputs"]["role"] == role["outputs"]["name"]
    }
    # Not AmazonSSMManagedInstanceCore: its ssm:GetParameter* on * would hand every host-network pod the
    # account's Parameter Store.
    assert "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" not in policies
    [inline] = [
        p["inputs"]["policy"]
        for p in prod_plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p["inputs"]["role"] == role["id"]
    ]
    for action in ("ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:OpenDataChannel"):
        assert decide(inline, Request(action, "*")) == ALLOW
    for action in ("ssm:GetParameter", "ssm:GetParameters", "ssm:SendCommand", "kms:Decrypt"):
        assert decide(inline, Request(action, "*")) == IMPLICIT_DENY
    for group in prod_plan.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert "remoteAccess" not in group["inputs"], group["urn"]  # no SSH key, no port 22


def test_the_control_plane_log_group_exists_encrypted_before_the_cluster(prod_plan: Plan):
    group = prod_plan.named(LOG_GROUP, "gpu-platform-prod-cluster-control-plane")
    assert group["inputs"]["name"] == "/aws/eks/gpu-platform-prod-cluster/cluster"  # where EKS writes the audit log
    assert group["inputs"]["kmsKeyId"] == logs_key(prod_plan)["outputs"]["arn"]
    assert group["inputs"]["retentionInDays"] == 30
    cluster = prod_plan.of_type("eks:index:Cluster")[0]
    assert group["urn"] in cluster["dependencies"]


def test_the_namespace_of_model_servers_enforces_the_restricted_pod_security_standard(prod_plan: Plan):
    namespaces = {
        n["inputs"]["metadata"]["name"]: n["inputs"]["metadata"]["labels"]
        for n in prod_plan.of_type("kubernetes:core/v1:Namespace")
    }
    inference = namespaces["inference"]
    for mode in ("enforce", "audit", "warn"):
        assert inference[f"pod-security.kubernetes.io/{mode}"] == "restricted"
    # Only operator namespaces whose agents need the host (device plugin, DCGM, node exporter, Fluent Bit).
    privileged = {
        name for name, labels in namespaces.items() if labels.get("pod-security.kubernetes.io/enforce") == "privileged"
    }
    assert privileged == {"gpu-operator", "monitoring", "logging"}
    assert all("pod-security.kubernetes.io/enforce" in labels for labels in namespaces.values())


def grafana_secret(plan: Plan) -> dict:
    return next(
        s["inputs"]
        for s in plan.of_type("kubernetes:core/v1:Secret")
        if s["inputs"]["metadata"]["name"] == "grafana-admin"
    )


def test_grafanas_admin_password_is_generated_and_never_the_charts_default(prod_plan: Plan):
    from tests.planning import is_secret

    release = next(
        r["inputs"]
        for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release")
        if r["inputs"]["chart"] == "kube-prometheus-stack"
    )
    grafana = release["values"]["grafana"]
    assert grafana["admin"] == {
        "existingSecret": "grafana-admin",
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    assert "adminPassword" not in grafana
    secret = grafana_secret(prod_plan)
    assert is_secret(secret["stringData"])  # never in plain text in state
    assert json.loads(secret["stringData"]["plaintext"])["admin-user"] == "admin"
    [generated] = prod_plan.of_type("random:index/randomPassword:RandomPassword")
    assert generated["inputs"]["length"] >= 32 and is_secret(generated["outputs"]["result"])
    assert is_secret(prod_plan.outputs["grafanaAdminPassword"])
    assert "prom-operator" not in str(secret)


def test_grafanas_secret_exists_before_the_chart_that_reads_it(prod_plan: Plan):
    secret = next(
        s for s in prod_plan.of_type("kubernetes:core/v1:Secret") if s["inputs"]["metadata"]["name"] == "grafana-admin"
    )
    release = next(
        r for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "kube-prometheus-stack"
    )
    assert secret["urn"] in release["dependencies"]


def test_a_short_grafana_password_is_refused_without_echoing_it():
    from gpu_platform.components.config import ConfigError, load_platform_config

    from tests.planning import MINIMAL, PROJECT, with_changes

    with pytest.raises(ConfigError) as raised:
        load_platform_config(with_changes(MINIMAL, {"observability.grafanaAdminPassword": "hunter2"}), PROJECT, "dev")
    assert raised.value.problems == ["platform.observability.grafanaAdminPassword: must be at least 16 characters"]


def test_prods_always_on_gpu_says_why_in_the_stack_file():
    from tests.planning import ROOT

    text = (ROOT / "Pulumi.prod.yaml").read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "minSize: 1" in line and "instanceTypes: [p5" in "\n".join(lines[max(0, i - 6) : i]):
            comment = " ".join(lines[j] for j in range(max(0, i - 5), i) if lines[j].strip().startswith("#"))
            assert "warm" in comment and "$" in comment and "minSize: 0" in comment


def test_grafanas_admin_password_can_come_from_a_secret_config_value():
    from tests.planning import MINIMAL, is_secret, with_changes

    plan = Plan.of_config(with_changes(MINIMAL, {"observability.grafanaAdminPassword": "from-config-0123456"}))
    assert plan.of_type("random:index/randomPassword:RandomPassword") == []
    data = grafana_secret(plan)["stringData"]
    assert is_secret(data) and json.loads(data["plaintext"])["admin-password"] == "from-config-0123456"


def test_policy_documents_are_written_the_same_way_every_time():
    # Keys sorted and actions sorted: a re-run of the program sends AWS the same string, so `pulumi preview`
    # shows no change to a policy nobody changed.
    from gpu_platform.components import iam

    statement = iam.allow(
        ["s3:ListBucket", "s3:GetObject"], ["arn:aws:s3:::b"], sid="Read", conditions={"Bool": {"x": "1"}}
    )
    assert iam.document(statement) == (
        '{"Statement": [{"Action": ["s3:GetObject", "s3:ListBucket"], "Condition": {"Bool": {"x": "1"}}, '
        '"Effect": "Allow", "Resource": ["arn:aws:s3:::b"], "Sid": "Read"}], "Version": "2012-10-17"}'
    )
