"""A bad stack config stops the program with one line per problem, naming the path and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
import yaml
from gpu_platform.components.config import (
    ConfigError,
    Environment,
    NatGateways,
    PlatformConfig,
    load_platform_config,
)
from gpu_platform.offline.engine import RecordingMonitor, run_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.planning import MINIMAL, PROJECT, REMOVE, ROOT, plan_project, stack_config, with_changes

POOL = {"name": "serving", "instanceTypes": ["g6.xlarge"]}


def pool(**changes) -> list[dict]:
    return [{**POOL, **changes}]


BAD_CONFIGS = [
    ({"network.azCount": 1}, "platform.network.azCount: must be between 2 and 6 (got 1)"),
    ({"network.azCount": 7}, "platform.network.azCount: must be between 2 and 6 (got 7)"),
    ({"network.azCount": "three"}, "platform.network.azCount: must be a whole number (got 'three')"),
    (
        {"network.azcount": 3},
        (
            "platform.network.azcount: is not a known key; did you mean azCount? "
            "allowed: azCount, flowLogs, interfaceEndpoints, natGateways, vpcCidr"
        ),
    ),
    ({"environment": "qa"}, "platform.environment: must be one of dev, staging or prod (got 'qa')"),
    ({"environment": REMOVE}, "platform.environment: is required"),
    ({"region": "mars-1"}, "platform.region: must be an AWS region such as us-east-1 (got 'mars-1')"),
    (
        {"labels.costCenter": "ML Team"},
        (
            "platform.labels.costCenter: must be 1 to 63 letters, digits, '-', '_' or '.', starting and ending "
            "with a letter or digit (it is both an AWS tag and a Kubernetes label value) (got 'ML Team')"
        ),
    ),
    ({"labels.product": REMOVE}, "platform.labels.product: is required"),
    (
        {"network.vpcCidr": "10.0.0.1/16"},
        "platform.network.vpcCidr: 10.0.0.1/16 has host bits set; did you mean 10.0.0.0/16?",
    ),
    (
        {"network.vpcCidr": "banana"},
        "platform.network.vpcCidr: must be an IPv4 CIDR block such as 10.0.0.0/16 (got 'banana')",
    ),
    (
        {"network.vpcCidr": "8.8.0.0/16"},
        (
            "platform.network.vpcCidr: 8.8.0.0/16 is not a private range; use one inside "
            "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10"
        ),
    ),
    (
        {"network.vpcCidr": "10.0.0.0/8"},
        "platform.network.vpcCidr: 10.0.0.0/8 is larger than AWS allows for a VPC; use a /16 to /24 block",
    ),
    (
        {"network.vpcCidr": "10.0.0.0/22", "network.azCount": 6},
        (
            "platform.network.vpcCidr: 10.0.0.0/22 is too small: private subnets would be /26 (at most /24, cut for "
            "up to 8 AZs); use a /20 or larger block"
        ),
    ),
    ({"network.natGateways": "double"}, "platform.network.natGateways: must be one of perAz or single (got 'double')"),
    (
        {"network.flowLogs.retentionDays": 45},
        (
            "platform.network.flowLogs.retentionDays: must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, "
            "365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (got 45)"
        ),
    ),
    ({"network.interfaceEndpoints": ["sts", "sts"]}, "platform.network.interfaceEndpoints: lists sts more than once"),
    (
        {"cluster.kubernetesVersion": "1.20"},
        "platform.cluster.kubernetesVersion: must be one of 1.32, 1.33, 1.34, 1.35 (got 1.20)",
    ),
    (
        {"cluster.publicAccessCidrs": ["203.0.113.0/24"]},
        "platform.cluster.publicAccessCidrs: only applies with endpointPublicAccess: true",
    ),
    (
        {"cluster.endpointPublicAccess": True},
        (
            "platform.cluster.publicAccessCidrs: must list who may reach the public endpoint (e.g. your office or VPN "
            "CIDRs); without it AWS opens it to 0.0.0.0/0"
        ),
    ),
    (
        {"environment": "prod", "cluster.endpointPublicAccess": True, "cluster.publicAccessCidrs": ["0.0.0.0/0"]},
        "platform.cluster.publicAccessCidrs: 0.0.0.0/0 opens the prod API endpoint to the internet; list your CIDRs",
    ),
    (
        {"cluster.adminRoleArns": ["arn:aws:iam::1:role/x"]},
        (
            "platform.cluster.adminRoleArns[0]: must be an IAM role ARN such as "
            "arn:aws:iam::123456789012:role/platform-admins (got 'arn:aws:iam::1:role/x')"
        ),
    ),
    (
        {"gpuPools": pool(name="GPU")},
        (
            "platform.gpuPools[0].name: must be 1 to 63 lowercase letters, digits or '-', starting and ending "
            "with a letter or digit (got 'GPU')"
        ),
    ),
    (
        {"gpuPools": pool(instanceTypes=["g6.xlarge", "p5.48xlarge"])},
        (
            "platform.gpuPools[serving].instanceTypes: mixes GPU models (H100 80GB, L4); a pool has one GPU model, "
            "use one pool each"
        ),
    ),
    ({"gpuPools": pool(instanceTypes=[])}, "platform.gpuPools[serving].instanceTypes: must list at least 1 item(s)"),
    (
        {"gpuPools": pool(sharing={"mode": "time-slicing"})},
        "platform.gpuPools[serving].sharing.replicas: is required with mode time-slicing (2 to 16)",
    ),
    (
        {"gpuPools": pool(sharing={"mode": "time-slicing", "replicas": 32})},
        "platform.gpuPools[serving].sharing.replicas: must be between 2 and 16 (got 32)",
    ),
    (
        {"gpuPools": pool(sharing={"mode": "none", "layout": "all-1g"})},
        "platform.gpuPools[serving].sharing.layout: only applies to mode mig (mode is none)",
    ),
    (
        {"gpuPools": pool(capacityType="CAPACITY_BLOCK", availabilityZone="us-east-1a")},
        "platform.gpuPools[serving].capacityReservationId: is required with capacityType CAPACITY_BLOCK",
    ),
    (
        {"gpuPools": pool(size={"minSize": 3, "desiredSize": 1, "maxSize": 2})},
        "platform.gpuPools[serving].size: needs minSize <= desiredSize <= maxSize (got 3 <= 1 <= 2)",
    ),
    ({"gpuPools": [POOL, POOL]}, "platform.gpuPools: pool names must be unique (serving repeated)"),
    (
        {"gpuPools": pool(sharng={})},
        (
            "platform.gpuPools[serving].sharng: is not a known key; did you mean sharing? allowed: amiType, "
            "availabilityZone, capacityBlockStart, capacityReservationId, capacityType, diskSizeGib, efa, instanceTypes, "
            "name, nodeLabels, sharing, size, workloadType"
        ),
    ),
    ({"storage.protect": "maybe"}, "platform.storage.protect: must be true or false (got 'maybe')"),
    (
        {"storage.bucketPrefix": "Models.Team"},
        (
            "platform.storage.bucketPrefix: 'Models.Team' is not usable in S3 bucket names: use lowercase letters, "
            "digits and single hyphens, starting and ending with a letter or digit"
        ),
    ),
    (
        {"storage.bucketPrefix": "a-very-long-prefix-for-the-inference-buckets"},
        (
            "platform.storage.bucketPrefix: 'a-very-long-prefix-for-the-inference-buckets' makes bucket names of 72 "
            "characters (a-very-long-prefix-for-the-inference-buckets-data-000000000000-us-east-1); S3 allows 63: "
            "use a prefix of at most 35 characters"
        ),
    ),
    (
        {"storage.bucketPrefix": "xn--models"},
        (
            "platform.storage.bucketPrefix: 'xn--models' is not usable in S3 bucket names: use lowercase letters, "
            "digits and single hyphens, starting and ending with a letter or digit"
        ),
    ),
    ({"observability": "yes"}, "platform.observability: must be an object of keys and values (got 'yes')"),
]


@pytest.mark.parametrize(
    "changes, message", BAD_CONFIGS, ids=[m.split(":")[0] + f"#{i}" for i, (_, m) in enumerate(BAD_CONFIGS)]
)
def test_bad_config_is_rejected_with_the_path_and_what_is_allowed(changes, message):
    with pytest.raises(ConfigError) as raised:
        load_platform_config(with_changes(MINIMAL, changes), PROJECT, "dev")
    assert raised.value.problems == [message]


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as raised:
        load_platform_config(with_changes(MINIMAL, {"network.azCount": 9, "region": "nowhere"}), PROJECT, "dev")
    assert raised.value.problems == [
        "platform.network.azCount: must be between 2 and 6 (got 9)",
        "platform.region: must be an AWS region such as us-east-1 (got 'nowhere')",
    ]


@pytest.mark.parametrize(
    "raw, message",
    [
        (None, "platform: is required; set `gpu-platform:platform` in Pulumi.dev.yaml"),
        ("dev", "platform: must be an object of keys and values (got 'dev')"),
    ],
)
def test_missing_or_scalar_platform_key_is_rejected(raw, message):
    with pytest.raises(ConfigError) as raised:
        load_platform_config(raw, PROJECT, "dev")
    assert raised.value.problems == [message]


@pytest.mark.parametrize(
    "stack, message",
    [
        (
            "Prod_EU",
            (
                "platform.storage.bucketPrefix: 'gpu-platform-Prod_EU' (derived from project-stack; set "
                "storage.bucketPrefix to choose one) is not usable in S3 bucket names: use lowercase letters, "
                "digits and single hyphens, starting and ending with a letter or digit"
            ),
        ),
        (
            "production-europe-frankfurt-main",
            (
                "platform.storage.bucketPrefix: 'gpu-platform-production-europe-"
                "frankfurt-main' (derived from project-stack; set storage.bucketPrefix to choose one) makes bucket names "
                "of 73 characters (gpu-platform-production-europe-frankfurt-main-data-000000000000-us-east-1); S3 allows "
                "63: use a prefix of at most 35 characters"
            ),
        ),
    ],
)
def test_a_stack_name_that_makes_bad_bucket_names_is_rejected(stack, message):
    with pytest.raises(ConfigError) as raised:
        load_platform_config(MINIMAL, PROJECT, stack)
    assert raised.value.problems == [message]


def test_defaults_are_secure_and_highly_available():
    config = load_platform_config(MINIMAL, PROJECT, "dev")
    assert config.network.az_count == 3
    assert config.network.nat_gateways is NatGateways.PER_AZ
    assert config.network.flow_logs.enabled
    assert set(config.network.interface_endpoints) == {"ecr.api", "ecr.dkr", "sts", "logs", "ec2"}
    assert config.cluster.endpoint_public_access is False
    assert config.storage.protect is True
    assert config.storage.minimum_tls_version == "1.2"


def _stack_file(stack: str) -> dict:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["gpu-platform:platform"]


def test_dev_and_prod_differ_where_an_operator_expects():
    # What must hold for any valid edit of the committed stack files: each is its environment, prod keeps
    # its data and its API private, and dev is never the bigger one (NAT gateways, GPUs at maxSize).
    from gpu_platform.components import catalog

    dev, prod = (load_platform_config(_stack_file(s), PROJECT, s) for s in ("dev", "prod"))
    assert (dev.environment, prod.environment) == (Environment.DEV, Environment.PROD)
    assert (prod.storage.protect, prod.cluster.endpoint_public_access) == (True, False)

    def nat_gateways(config: PlatformConfig) -> int:
        return config.network.az_count if config.network.nat_gateways == NatGateways.PER_AZ else 1

    def gpus_at_most(config: PlatformConfig) -> int:
        return sum(
            max(catalog.GPU_INSTANCES[t].gpu_count for t in pool.instance_types) * pool.size.max_size
            for pool in config.gpu_pools
        )

    assert nat_gateways(dev) <= nat_gateways(prod) and gpus_at_most(dev) <= gpus_at_most(prod)


def test_a_bad_config_registers_nothing_and_prints_no_traceback(tmp_path: Path):
    monitor = RecordingMonitor("gpu-platform", "broken", {})
    with pytest.raises(ConfigError):
        run_program(ROOT, "broken", stack_config(with_changes(MINIMAL, {"network.azCount": 1})), monitor=monitor)
    assert [r.type for r in monitor.recording().resources] == ["pulumi:pulumi:Stack"]

    broken = with_changes(MINIMAL, {"network.azCount": 1, "region": "x"})
    run, out = plan_project(
        tmp_path,
        "broken",
        {
            "Pulumi.yaml": (ROOT / "Pulumi.yaml").read_text(),
            "__main__.py": (ROOT / "__main__.py").read_text(),
            "Pulumi.broken.yaml": yaml.safe_dump({"config": {"gpu-platform:platform": broken}}),
        },
    )
    assert run.returncode == 2
    assert run.stderr == (
        "error: invalid stack config:\n"
        "  platform.network.azCount: must be between 2 and 6 (got 1)\n"
        "  platform.region: must be an AWS region such as us-east-1 (got 'x')\n"
    )
    assert not out.exists()


# --- property: any config is either accepted or rejected with a ConfigError --

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5000),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["10.0.0.0/16", "10.0.0.0/28", "dev", "prod", "g6.xlarge", "p5.48xlarge", "mig", "time-slicing"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


def _field(options: list, junk=values):
    """Mostly a plausible value (some of which are still wrong), sometimes anything at all."""
    return st.one_of(st.sampled_from(options), st.sampled_from(options), st.sampled_from(options), junk)


def config_strategy(field):
    """Platform objects whose fields come from `field(options)`: plausible values, or anything at all."""
    sharing = st.fixed_dictionaries(
        {},
        optional={
            "mode": field(["none", "time-slicing", "mig"]),
            "replicas": field([2, 4, 16, 17]),
            "failRequestsGreaterThanOne": field([True, False]),
            "strategy": field(["single", "mixed"]),
            "layout": field(["all-1g", {"1g.10gb": 7}, {"3g.40gb": 2, "1g.10gb": 1}]),
        },
    )
    gpu_pool = st.fixed_dictionaries(
        {"name": field(["serving", "batch-1", "X"])},
        optional={
            "instanceTypes": field([["g6.xlarge"], ["p5.48xlarge"], ["g6.xlarge", "g6.2xlarge"], []]),
            "capacityType": field(["ON_DEMAND", "SPOT", "CAPACITY_BLOCK"]),
            "capacityReservationId": field(["cr-0123456789abcdef0"]),
            "size": field([{"minSize": 0, "desiredSize": 0, "maxSize": 2}, {"minSize": 2, "desiredSize": 1}]),
            "sharing": sharing,
        },
    )
    return st.fixed_dictionaries(
        {
            "environment": field(["dev", "prod", "staging"]),
            "region": field(["us-east-1", "eu-west-1", "us-west-2"]),
            "labels": field([{"costCenter": "ml", "product": "chat"}]),
        },
        optional={
            "network": st.fixed_dictionaries(
                {},
                optional={
                    "vpcCidr": field(["10.0.0.0/16", "10.0.0.0/24", "172.16.0.0/20", "1.2.3.4/5"]),
                    "azCount": field([2, 3, 6, 7]),
                    "natGateways": field(["perAz", "single"]),
                    "flowLogs": field([{"enabled": False}, {"retentionDays": 30}]),
                },
            ),
            "cluster": field(
                [
                    {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
                    {},
                    {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]},
                ]
            ),
            "gpuPools": st.lists(gpu_pool, max_size=3),
            "storage": field([{"protect": False}, {"minimumTlsVersion": None}]),
            "observability": field([{"enabled": False, "grafana": False}, {"logs": False}, {"grafana": False}]),
        },
    )


platform = st.one_of(config_strategy(_field), values)
plausible_platform = config_strategy(st.sampled_from)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(platform)
def test_any_config_is_accepted_or_rejected_with_a_config_error(raw):
    try:
        result = load_platform_config(raw, PROJECT, "dev")
    except ConfigError as err:
        assert err.problems and all(p.startswith("platform") for p in err.problems)
    else:
        assert isinstance(result, PlatformConfig)


def _accepted(raw: object) -> bool:
    try:
        load_platform_config(raw, PROJECT, "dev")
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("strategy", [platform, plausible_platform], ids=["any", "plausible"])
def test_the_generated_configs_include_ones_the_platform_accepts(strategy):
    # Without this, the property tests above and below could pass by refusing every config they are given.
    from hypothesis import find

    assert isinstance(
        find(strategy, _accepted, settings=settings(max_examples=500, deadline=None, database=None)), dict
    )


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(plausible_platform)
def test_any_accepted_config_builds_a_plan_or_stops_with_a_clear_error(raw):
    """Beyond validation: the whole program runs for every config it accepts."""
    try:
        load_platform_config(raw, PROJECT, "dev")
    except ConfigError:
        return
    try:
        recording = run_program(ROOT, "dev", stack_config(raw))
    except pulumi.RunError as err:  # what only the region can tell: its AZs
        assert str(err).startswith("platform.network.azCount: the region has")
    else:
        assert [r for r in recording.resources if r.type == "aws:ec2/vpc:Vpc"]


# The Pulumi CLI validates Pulumi.yaml against sdk/go/common/workspace/project.json and each stack's value
# against the declared type (pkg/workspace/config.go validateStackConfigValue -> project.go
# ValidateConfigValue: `object` must be a map). The schema is pulumi/pulumi's own at v3.202.0, the
# facade's minimum CLI (tests/upstream/).
PROJECT_SCHEMA = Path(__file__).parent / "upstream" / "pulumi-project-v3.202.0.schema.json"


def test_pulumi_yaml_passes_the_clis_project_schema_and_declares_platform_an_object():
    import json

    import jsonschema

    schema = json.loads(PROJECT_SCHEMA.read_text())
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    jsonschema.validate(project, schema)
    assert project["config"]["platform"]["type"] == "object"
    # the schema is a real judge: a type it does not know is refused
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**project, "config": {"platform": {"type": "map"}}}, schema)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stack_value_of_platform_is_the_map_the_cli_expects(stack: str):
    values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert isinstance(values[f"{PROJECT}:platform"], dict)


def _run_with(values: dict, secret_keys: list[str] | None = None) -> str:
    from gpu_platform.offline.engine import StackConfig

    with pytest.raises(ConfigError) as refused:
        run_program(ROOT, "dev", StackConfig(values, secret_keys or []))
    return str(refused.value)


def test_a_key_of_this_project_the_program_never_reads_is_an_error_with_a_suggestion():
    platform = json.dumps(MINIMAL)
    message = _run_with({f"{PROJECT}:platfrom": platform, f"{PROJECT}:replicas": "3"})
    assert (
        f"  {PROJECT}:platfrom: is not a config key of this project; did you mean platform? every setting "
        f"goes under {PROJECT}:platform (the README lists its keys)" in message
    )
    assert f"  {PROJECT}:replicas: is not a config key of this project; every setting goes under" in message
    assert "platform: is required" in message


def test_an_aws_region_other_than_the_platform_region_is_an_error():
    message = _run_with({f"{PROJECT}:platform": json.dumps(MINIMAL), "aws:region": "eu-west-1"})
    assert message.endswith(
        "aws:region: is eu-west-1 but platform.region is us-east-1; the platform builds in "
        "platform.region: set aws:region to us-east-1 or remove it"
    )


def test_a_webhook_in_plain_text_says_which_secret_command_to_run():
    platform = with_changes(MINIMAL, {"observability.alerting.slackWebhookUrl": "https://hooks.slack.com/x"})
    message = _run_with({f"{PROJECT}:platform": json.dumps(platform)})
    assert (
        "platform.observability.alerting.slackWebhookUrl: is in plain text in the stack file; make it a secret "
        "with `pulumi config set --secret --path 'platform.observability.alerting.slackWebhookUrl' <value>`"
    ) in message
    from gpu_platform.offline.engine import StackConfig

    run_program(ROOT, "dev", StackConfig({f"{PROJECT}:platform": json.dumps(platform)}, [f"{PROJECT}:platform"]))


@pytest.mark.parametrize(
    ("region", "says"),
    [
        ("us-weest-2", "platform.region: 'us-weest-2' is not an AWS Region; did you mean us-west-2?"),
        ("eu-west-9", "platform.region: 'eu-west-9' is not an AWS Region; did you mean eu-west-3?"),
        ("zz-north-4", "platform.region: 'zz-north-4' is not an AWS Region (known: af-south-1,"),
        ("cn-north-1", "platform.region: 'cn-north-1' is in the aws-cn partition; the platform's ARNs"),
    ],
)
def test_a_region_aws_does_not_have_is_a_config_error_naming_the_key(region: str, says: str):
    with pytest.raises(ConfigError) as refused:
        load_platform_config({**MINIMAL, "region": region}, PROJECT, "dev")
    assert says in str(refused.value)


def test_a_yaml_error_in_a_stack_file_names_the_file_line_and_column(tmp_path: Path):
    run, _ = plan_project(
        tmp_path,
        "dev",
        {
            "Pulumi.yaml": (ROOT / "Pulumi.yaml").read_text(),
            "Pulumi.dev.yaml": "config:\n  gpu-platform:platform:\n    region: us-west-2\n    labels: {costCenter: a\n",
        },
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: Pulumi.dev.yaml:5:1: ")
    assert "Traceback" not in run.stderr
