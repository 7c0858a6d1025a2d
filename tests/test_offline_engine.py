"""The recording engine runs the real program reliably and writes a faithful, reproducible plan."""

from __future__ import annotations

import json
import subprocess
import sys

import pulumi
import pulumi_aws as aws
import pytest

from offline import plan
from offline.cloud import UnknownCall
from offline.engine import run_program
from offline.wire import RESOURCE_SIG, SECRET_SIG, SPECIAL_SIG
from tests.planning import MINIMAL, ROOT, Plan, is_secret, stack_config


def test_thirty_runs_of_the_whole_program_all_succeed_with_the_same_plan():
    texts = {plan.dumps(plan.deployment(run_program(ROOT, "prod"))) for _ in range(30)}
    assert len(texts) == 1


def test_plan_has_the_shape_of_pulumi_stack_export(prod_plan: Plan):
    document = json.loads(plan.dumps(prod_plan.document))
    assert document["version"] == 3
    assert set(document["deployment"]) == {"manifest", "resources"}
    assert set(document["deployment"]["manifest"]) == {"time", "magic", "version"}
    resources = document["deployment"]["resources"]
    stack = resources[0]
    assert stack["type"] == "pulumi:pulumi:Stack" and "parent" not in stack
    assert stack["urn"] == "urn:pulumi:prod::gpu-platform::pulumi:pulumi:Stack::gpu-platform-prod"
    urns = {r["urn"] for r in resources}
    for r in resources[1:]:
        assert r["parent"] in urns, r["urn"]
        assert set(r) >= {"urn", "custom", "type", "inputs", "outputs", "parent"}
        if r["custom"] and not r["type"].startswith("pulumi:providers:"):
            assert r["id"] and r["provider"].rsplit("::", 1)[0] in urns
        assert set(r.get("dependencies", [])) <= urns


def test_resources_come_after_their_parents_providers_and_dependencies(prod_plan: Plan):
    seen: set[str] = set()
    for r in prod_plan.resources:
        needed = {r.get("parent"), r.get("provider", "").rsplit("::", 1)[0], *r.get("dependencies", [])} - {None, ""}
        assert needed <= seen, r["urn"]
        seen.add(r["urn"])


def test_the_cli_writes_byte_identical_plans_and_a_summary(tmp_path):
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    runs = [subprocess.run([sys.executable, "-m", "offline", "plan", "--stack", "dev", "--out", str(o)],
                           cwd=ROOT, capture_output=True, text=True, check=True) for o in outs]
    assert outs[0].read_bytes() == outs[1].read_bytes()
    summary = runs[0].stdout
    assert "gpu-platform-dev-network (gpu-platform:index:Network): 31 resources" in summary
    assert "      4 x aws:ec2/subnet:Subnet" in summary
    assert '    availabilityZones: ["us-west-2a", "us-west-2b"]' in summary


def _engine_program():
    """A small program that uses what the platform will: references, secrets, invokes."""
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", tags={"token": pulumi.Output.secret("s3cr3t")})
    pulumi.CustomResource("aws:ec2/subnet:Subnet", "by-reference", {"vpc": vpc, "cidrBlock": "10.0.0.0/24"})
    pulumi.export("password", pulumi.Output.secret("hunter2"))
    pulumi.export("vpcId", vpc.id)


def test_references_become_dependencies_and_secrets_stay_marked():
    recording = run_program(ROOT, "test", stack_config(MINIMAL), program=_engine_program)
    document = Plan(plan.deployment(recording))
    vpc = document.named("aws:ec2/vpc:Vpc", "vpc")
    subnet = document.named("aws:ec2/subnet:Subnet", "by-reference")
    assert subnet["dependencies"] == [vpc["urn"]]
    reference = subnet["inputs"]["vpc"]
    assert reference[SPECIAL_SIG] == RESOURCE_SIG and reference["urn"] == vpc["urn"] and reference["id"] == vpc["id"]
    assert vpc["inputs"]["tags"]["token"] == {SPECIAL_SIG: SECRET_SIG, "plaintext": '"s3cr3t"'}
    assert is_secret(document.outputs["password"]) and document.outputs["vpcId"] == vpc["id"]
    assert "[secret]" in plan.summary(document.document) and "hunter2" not in plan.summary(document.document)


def test_an_invoke_the_offline_cloud_does_not_know_fails_loudly():
    def program():
        aws.ec2.get_ami_output(most_recent=True, owners=["amazon"])

    with pytest.raises(UnknownCall, match="does not know invoke aws:ec2/getAmi:getAmi"):
        run_program(ROOT, "test", stack_config(MINIMAL), program=program)


def test_a_resource_type_the_offline_cloud_does_not_know_fails_loudly():
    def program():
        aws.sqs.Queue("queue")

    with pytest.raises(UnknownCall, match="does not know resource type aws:sqs/queue:Queue"):
        run_program(ROOT, "test", stack_config(MINIMAL), program=program)


def test_a_preview_plan_knows_inputs_but_not_what_providers_compute():
    from offline.engine import run_program
    from offline.wire import UNKNOWN
    document = plan.deployment(run_program(ROOT, "dev", preview=True))
    resources = document["deployment"]["resources"]
    bucket = next(r for r in resources if r["type"] == "aws:s3/bucket:Bucket" and r["urn"].endswith("-data"))
    assert bucket["id"] == "" and bucket["outputs"]["arn"] == UNKNOWN
    assert bucket["inputs"]["bucket"] == bucket["outputs"]["bucket"] != UNKNOWN  # a name the program chose
    vpc = next(r for r in resources if r["type"] == "aws:ec2/vpc:Vpc")
    subnet = next(r for r in resources if r["type"] == "aws:ec2/subnet:Subnet")
    assert subnet["inputs"]["vpcId"] == UNKNOWN and vpc["inputs"]["cidrBlock"] == "10.20.0.0/16"


def test_a_preview_knows_the_names_providers_give_in_check_but_not_their_arns():
    # pulumi-aws autonames `name` (provider hooks SetAutonaming(255, "-")) and `bucket` in Check, so
    # `pulumi preview` shows them; ARNs and ids come from Create and stay unknown.
    from offline.engine import run_program
    from offline.wire import UNKNOWN

    def program():
        aws.iam.Role("unnamed", assume_role_policy="{}")
        aws.s3.Bucket("logs")

    for preview in (True, False):
        document = plan.deployment(run_program(ROOT, "test", stack_config(MINIMAL), program=program,
                                               preview=preview))
        by_type = {r["type"]: r for r in document["deployment"]["resources"]}
        role, bucket = by_type["aws:iam/role:Role"], by_type["aws:s3/bucket:Bucket"]
        assert role["inputs"]["name"].startswith("unnamed-") and role["outputs"]["name"] == role["inputs"]["name"]
        assert bucket["inputs"]["bucket"].startswith("logs-")
        assert (role["outputs"]["arn"] == UNKNOWN) is preview
