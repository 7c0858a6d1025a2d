"""The AWS Load Balancer Controller: pinned on the system pool, internal load balancers only, cost tags on what
it creates, and a role that holds AWS's published policy, judged by the IAM evaluator."""

from __future__ import annotations

import json

import pytest
from gpu_platform.components import load_balancer
from gpu_platform.components.node_labels import SYSTEM_LABEL

from tests.iam_eval import ALLOW, IMPLICIT_DENY, Request, decide
from tests.planning import Plan

RELEASE = "kubernetes:helm.sh/v3:Release"
CLUSTER_TAG = "elbv2.k8s.aws/cluster"


def release(plan: Plan) -> dict:
    [found] = [r["inputs"] for r in plan.of_type(RELEASE) if r["inputs"]["chart"] == load_balancer.CHART]
    return found


def controller_role(plan: Plan) -> tuple[dict, dict]:
    [role] = [r for r in plan.of_type("aws:iam/role:Role") if "lb-controller-role" in r["urn"]]
    [policy] = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if "lb-controller-role" in p["urn"]]
    return json.loads(role["inputs"]["assumeRolePolicy"]), json.loads(policy["inputs"]["policy"])


def test_the_controller_is_pinned_on_the_system_pool_and_makes_only_internal_load_balancers(prod_plan: Plan):
    values = release(prod_plan)
    assert (values["version"], values["repositoryOpts"]["repo"], values["namespace"]) == (
        "3.5.0",
        "https://aws.github.io/eks-charts",
        "kube-system",
    )
    chart = values["values"]
    assert chart["nodeSelector"][SYSTEM_LABEL] == "true"
    assert chart["ingressClassParams"]["spec"]["scheme"] == "internal"  # no Ingress of class alb can go public
    assert chart["clusterName"] == prod_plan.outputs["clusterName"] and chart["vpcId"] == prod_plan.outputs["vpcId"]
    assert chart["region"] == "us-east-1" and chart["defaultTargetType"] == "ip"
    assert chart["defaultTags"] == {"cost-center": "ml-platform", "product": "inference", "environment": "prod"}
    # the chart uses the platform's service account, the one the role trusts
    assert chart["serviceAccount"] == {"create": False, "name": load_balancer.SERVICE_ACCOUNT}
    [account] = [
        a["inputs"]
        for a in prod_plan.of_type("kubernetes:core/v1:ServiceAccount")
        if a["inputs"]["metadata"]["name"] == load_balancer.SERVICE_ACCOUNT
    ]
    assert account["metadata"]["namespace"] == "kube-system"
    [role] = [r for r in prod_plan.of_type("aws:iam/role:Role") if "lb-controller-role" in r["urn"]]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role["outputs"]["arn"]
    # the controller finds the private subnets by the tag the network sets on them
    private = [s for s in prod_plan.of_type("aws:ec2/subnet:Subnet") if "private" in s["urn"]]
    assert private and all(s["inputs"]["tags"].get("kubernetes.io/role/internal-elb") == "1" for s in private)


def test_only_the_controllers_service_account_can_take_its_role(prod_plan: Plan):
    trust, _ = controller_role(prod_plan)
    [statement] = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    subject = next(v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub"))
    assert subject == "system:serviceaccount:kube-system:aws-load-balancer-controller"


def test_the_role_holds_awss_published_policy_for_that_controller_version(prod_plan: Plan):
    _, policy = controller_role(prod_plan)
    published = json.loads(load_balancer.POLICY_FILE.read_text())
    assert policy["Statement"] == published["Statement"] and policy["Version"] == published["Version"]


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        # it creates load balancers and target groups only with the cluster's tag on them
        (Request("elasticloadbalancing:CreateLoadBalancer", context={f"aws:RequestTag/{CLUSTER_TAG}": "c"}), ALLOW),
        (Request("elasticloadbalancing:CreateLoadBalancer"), IMPLICIT_DENY),
        # it deletes only what carries the tag, so another controller's (or a team's) load balancer is safe
        (Request("elasticloadbalancing:DeleteLoadBalancer", context={f"aws:ResourceTag/{CLUSTER_TAG}": "c"}), ALLOW),
        (Request("elasticloadbalancing:DeleteLoadBalancer"), IMPLICIT_DENY),
        # nothing outside load balancing and the security groups it manages
        (Request("s3:GetObject", "arn:aws:s3:::gpu-platform-prod-data/models/x"), IMPLICIT_DENY),
        (Request("ec2:TerminateInstances"), IMPLICIT_DENY),
        (Request("iam:PassRole"), IMPLICIT_DENY),
    ],
)
def test_the_controllers_role_can_manage_its_own_load_balancers_and_nothing_else(prod_plan, request_, expected):
    _, policy = controller_role(prod_plan)
    assert decide(policy, request_) == expected
