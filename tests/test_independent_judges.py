"""Everything the program produces, judged by tools nobody on this project wrote."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from tests import cfn
from tests.planning import Plan

# cfn-lint W3010 warns on AZ names written as literals. Ours are not: the program reads them from
# the region at deploy time (getAvailabilityZones); the plan merely shows the resolved values.
RESOLVED_AT_DEPLOY_TIME = ("W3010 ",)
STACKS = [("dev", "us-west-2"), ("prod", "us-east-1")]


# Custom resources have no schema in kubernetes-validate; PrometheusRules are judged by promtool instead.
# Custom resources are judged by their own CRDs' schemas (Gatekeeper's: tests/test_admission.py).
CUSTOM_RESOURCES = (
    "kubernetes:helm.sh/",
    "kubernetes:monitoring.coreos.com/",
    "kubernetes:templates.gatekeeper.sh/",
    "kubernetes:constraints.gatekeeper.sh/",
)


def kubernetes_objects(plan: Plan) -> list[dict]:
    return [
        r["inputs"]
        for r in plan.resources
        if r["type"].startswith("kubernetes:") and not r["type"].startswith(CUSTOM_RESOURCES)
    ]


def kubernetes_version(plan: Plan) -> str:
    return plan.of_type("aws:eks/cluster:Cluster")[0]["inputs"]["version"] + ".0"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_kubernetes_object_passes_strict_schema_validation_for_the_cluster_version(stack, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    objects = kubernetes_objects(plan)
    assert {o["kind"] for o in objects} >= {"Namespace", "ConfigMap", "ServiceAccount"}
    for obj in objects:
        kubernetes_validate.validate(obj, kubernetes_version(plan), strict=True)


def test_strict_validation_rejects_a_misspelt_field(prod_plan: Plan):
    account = copy.deepcopy(next(o for o in kubernetes_objects(prod_plan) if o["kind"] == "ServiceAccount"))
    account["automountServiceAcountToken"] = account.pop("automountServiceAccountToken")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(account, kubernetes_version(prod_plan), strict=True)


@pytest.mark.parametrize("stack, region", STACKS)
def test_cfn_lint_accepts_every_aws_resource_it_has_a_schema_for(stack, region, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    document = cfn.template(plan)
    judged = {props["Type"] for props in document["Resources"].values()}
    assert {
        "AWS::EKS::Nodegroup",
        "AWS::EKS::Cluster",
        "AWS::EC2::LaunchTemplate",
        "AWS::EC2::Subnet",
        "AWS::S3::BucketPolicy",
        "AWS::IAM::Role",
    } <= judged
    findings = [f for f in cfn.findings(document, region) if not f.startswith(RESOLVED_AT_DEPLOY_TIME)]
    assert findings == []


def test_cfn_lint_catches_a_kubernetes_style_taint_effect_on_a_node_group(prod_plan: Plan):
    document = cfn.template(prod_plan, {"aws:eks/nodeGroup:NodeGroup"})
    group = next(r for r in document["Resources"].values() if r["Properties"]["Taints"])
    group["Properties"]["Taints"][0]["Effect"] = "NoSchedule"
    assert any("'NoSchedule' is not one of" in f for f in cfn.findings(document, "us-east-1"))


def test_cfn_lint_accepts_capacity_block_and_efa_pools_and_their_launch_templates():
    plan = Plan.of_config(
        {
            "environment": "dev",
            "region": "us-east-1",
            "labels": {"costCenter": "ml-platform", "product": "inference"},
            "gpuPools": [
                {
                    "name": "block",
                    "instanceTypes": ["p5.48xlarge"],
                    "capacityType": "CAPACITY_BLOCK",
                    "capacityReservationId": "cr-0123456789abcdef0",
                    "availabilityZone": "us-east-1b",
                    "efa": True,
                    "capacityBlockStart": "2026-12-01T11:30:00Z",
                    "size": {"minSize": 0, "desiredSize": 2, "maxSize": 2},
                },
                {"name": "efa", "instanceTypes": ["p4d.24xlarge"], "efa": True, "availabilityZone": "us-east-1a"},
            ],
        }
    )
    document = cfn.template(plan)
    judged = [props["Type"] for props in document["Resources"].values()]
    assert judged.count("AWS::EKS::Nodegroup") == 3 and "AWS::EC2::PlacementGroup" in judged
    assert {"AWS::AutoScaling::ScheduledAction", "AWS::EC2::SecurityGroupEgress"} <= set(judged)
    findings = [f for f in cfn.findings(document, "us-east-1") if not f.startswith(RESOLVED_AT_DEPLOY_TIME)]
    assert findings == []
