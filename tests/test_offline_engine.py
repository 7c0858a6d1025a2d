"""The recording engine runs the real program reliably and writes a faithful, reproducible plan."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pulumi
import pulumi_aws as aws
import pytest
from gpu_platform.offline import plan
from gpu_platform.offline.cloud import UnknownCall
from gpu_platform.offline.engine import run_program
from gpu_platform.offline.wire import RESOURCE_SIG, SECRET_SIG, SPECIAL_SIG

from tests.planning import MINIMAL, ROOT, Plan, fixture_config, is_secret, plan_project, stack_config


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
    # Of the committed dev stack, whatever a valid edit made of it: what the summary says follows its config.
    from gpu_platform.automation import load_config
    from gpu_platform.components import regions

    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    runs = [
        subprocess.run(
            [sys.executable, "-m", "offline", "plan", "--stack", "dev", "--out", str(o)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        for o in outs
    ]
    assert outs[0].read_bytes() == outs[1].read_bytes()
    summary, config = runs[0].stdout, load_config("dev")
    assert "gpu-platform-dev-network (gpu-platform:index:Network): " in summary
    assert f"    {2 * config.network.az_count:>3} x aws:ec2/subnet:Subnet" in summary
    zones = list(regions.REGIONS[config.region].zones[: config.network.az_count])
    assert f"    availabilityZones: {json.dumps(zones)}" in summary


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
        aws.ec2.get_instance_output(instance_id="i-1")

    with pytest.raises(UnknownCall, match="does not know invoke aws:ec2/getInstance:getInstance"):
        run_program(ROOT, "test", stack_config(MINIMAL), program=program)


def test_a_resource_type_without_a_fake_gets_the_generic_one_and_the_summary_says_so():
    def program():
        queue = aws.sqs.Queue("queue", visibility_timeout_seconds=45)
        aws.sns.Topic("alerts", name="gpu-alerts")
        pulumi.export("queue", queue.arn)

    config = stack_config({**MINIMAL, "region": "eu-west-1"})
    document = plan.deployment(run_program(ROOT, "test", config, program=program))
    by_type = {r["type"]: r for r in document["deployment"]["resources"]}
    queue, topic = by_type["aws:sqs/queue:Queue"], by_type["aws:sns/topic:Topic"]
    assert queue["inputs"]["visibilityTimeoutSeconds"] == queue["outputs"]["visibilityTimeoutSeconds"] == 45
    assert queue["outputs"]["arn"].startswith("arn:aws:sqs:eu-west-1:123456789012:queue/queue-")
    assert topic["outputs"]["arn"] == "arn:aws:sns:eu-west-1:123456789012:topic/gpu-alerts" and topic["id"]
    summary = plan.summary(document)
    assert (
        "2 resource(s) have no fake of their own: inputs as sent, ids and computed outputs made up by the "
        "generic fake (aws:sns/topic:Topic, aws:sqs/queue:Queue)"
    ) in summary


def test_an_invoke_without_a_fake_stops_the_plan_with_one_line_naming_it(tmp_path):
    run, _ = plan_project(
        tmp_path,
        "dev",
        {
            "Pulumi.yaml": "name: invokes\nruntime: python\n",
            "Pulumi.dev.yaml": "config:\n  aws:region: us-west-2\n",
            "__main__.py": "import pulumi_aws as aws\naws.ec2.get_instance(instance_id='i-1')\n",
        },
    )
    assert run.returncode == 2
    assert run.stderr == (
        "error: the offline cloud does not know invoke aws:ec2/getInstance:getInstance; add it to "
        "offline/cloud.py with a realistic answer\n"
    )


def test_every_fake_value_of_the_platform_follows_the_stack_region():
    import json as json_

    for region in ("us-west-2", "eu-central-1", "ap-southeast-5"):
        text = json_.dumps(plan.deployment(run_program(ROOT, "dev", stack_config({**MINIMAL, "region": region}))))
        regions_seen = set(re.findall(r"\b(?:us|eu|ap|cn|sa|ca|me|af|il|mx)(?:-gov)?-[a-z]+-\d\b", text))
        assert regions_seen == {region}, (region, regions_seen)
        assert set(re.findall(r"arn:(aws[a-z-]*):", text)) == {"aws"}


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("us-west-2", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ],
)
def test_fakes_of_any_program_follow_its_region_and_partition(region, partition, suffix):
    def program():
        role = aws.iam.Role("role", assume_role_policy="{}")
        bucket = aws.s3.Bucket("data")
        caller = aws.get_caller_identity()
        zones = aws.get_availability_zones()
        pulumi.export("role", role.arn)
        pulumi.export("bucket", bucket.bucket_regional_domain_name)
        pulumi.export("caller", caller.arn)
        pulumi.export("zones", zones.names)

    from gpu_platform.offline.engine import StackConfig

    outputs = run_program(ROOT, "test", StackConfig({"aws:region": region}, []), program=program).stack_outputs
    assert outputs["role"].startswith(f"arn:{partition}:iam::123456789012:role/role-")
    assert outputs["bucket"].endswith(f".s3.{region}.{suffix}")
    assert outputs["caller"] == f"arn:{partition}:iam::123456789012:user/offline"
    assert all(zone.startswith(region) for zone in outputs["zones"]) and len(outputs["zones"]) >= 3


def test_a_program_whose_provider_has_no_region_fails_as_the_provider_would(monkeypatch):
    from gpu_platform.offline.engine import EngineError, StackConfig

    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)

    def program():
        aws.s3.Bucket("data")

    with pytest.raises(EngineError, match="the AWS provider has no region: set it with `pulumi config set aws:region"):
        run_program(ROOT, "test", StackConfig({}, []), program=program)


def test_the_preview_summary_shows_unknowns_as_a_preview_does():
    from gpu_platform.offline.wire import UNKNOWN

    summary = plan.summary(plan.deployment(run_program(ROOT, "prod", fixture_config("prod"), preview=True)))
    outputs = summary.split("Outputs:", 1)[1]
    assert UNKNOWN not in outputs and "(known after create)" in outputs


def test_a_provider_setting_aws_does_not_have_stops_the_plan_with_a_suggestion():
    from gpu_platform.offline.engine import StackConfig, StackFileError

    with pytest.raises(
        StackFileError,
        match=r"aws:regoin: is not a setting of the AWS provider; did you mean "
        r"aws:region\?",
    ):
        run_program(ROOT, "test", StackConfig({"aws:regoin": "us-west-2"}, []), program=lambda: None)


def test_common_lookups_of_the_default_vpc_are_answered():
    def program():
        vpc = aws.ec2.get_vpc(default=True)
        subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])
        pulumi.export("vpc", vpc.cidr_block)
        pulumi.export("subnets", subnets.ids)

    outputs = run_program(ROOT, "test", stack_config({**MINIMAL, "region": "us-west-2"}), program=program).stack_outputs
    assert outputs["vpc"] == "172.31.0.0/16" and len(outputs["subnets"]) == 4
