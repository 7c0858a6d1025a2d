"""GPU pools, read from plans and checked against the team's reference: sharing, advertising, placement."""

from __future__ import annotations

import base64
import itertools
import json

import pytest
import yaml
from gpu_platform.components import catalog, gpu_operator, sharing
from gpu_platform.components.config import ConfigError, load_platform_config

from tests import reference
from tests.planning import MINIMAL, PROJECT, Plan, with_changes

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
RELEASE = "kubernetes:helm.sh/v3:Release"
INSTANCE_OF = {
    "A100 40GB": "p4d.24xlarge",
    "A100 80GB": "p4de.24xlarge",
    "H100 80GB": "p5.48xlarge",
    "H200 141GB": "p5e.48xlarge",
}


def config_with_pool(**pool) -> dict:
    return with_changes(MINIMAL, {"gpuPools": [{"name": "pool", **pool}]})


def problems_of(**pool) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_platform_config(config_with_pool(**pool), PROJECT, "dev")
    return raised.value.problems


def mig(instance: str, layout, strategy: str | None = None) -> dict:
    sharing = {"mode": "mig", "layout": layout, **({"strategy": strategy} if strategy else {})}
    return {"instanceTypes": [instance], "sharing": sharing}


# --- the catalog agrees with the reference -----------------------------------


def test_the_facts_the_tests_use_are_in_the_repo_with_their_sources_and_agree_with_the_team_reference():
    text = reference.GPU_FACTS.read_text()
    headings = (reference.INSTANCES, reference.MIG_PROFILES, reference.NETWORKING, reference.PLACEMENTS)
    assert all("\nSources: " in text.split(heading, 1)[1].split("\n## ", 1)[0] for heading in headings)
    assert len(reference.instances()) > 20 and len(reference.mig_profiles()) > 20
    assert len(reference.networking()) > 15 and len(reference.mig_start_slots()) == 6
    # Beside the team's checkouts there is a shared reference: where it exists, it must say the same.
    if reference.SHARED_GPU_FACTS.exists():
        assert reference.tables(reference.SHARED_GPU_FACTS) == reference.tables(reference.GPU_FACTS)


def test_catalog_knows_every_reference_instance_type_with_its_gpus():
    expected = {i.instance_type: (i.gpus, i.model, i.mig) for i in reference.instances()}
    actual = {t: (i.gpu_count, i.gpu.model, i.gpu.mig) for t, i in catalog.GPU_INSTANCES.items()}
    assert actual == expected


def test_catalog_gives_each_instance_type_its_efa_interfaces_and_capacity_blocks_as_the_reference_does():
    expected = reference.networking()
    actual = {t: (i.efa_interfaces, i.capacity_block) for t, i in catalog.GPU_INSTANCES.items()}
    assert actual == {t: expected.get(t, (0, False)) for t in actual}
    assert set(expected) <= set(actual)


def test_catalog_has_exactly_the_reference_mig_profiles_with_their_slices_and_maximum():
    expected = {(f.gpu, f.profile): (f.compute, f.memory, f.max_per_gpu) for f in reference.mig_profiles()}
    actual = {
        (gpu, p.name): (p.compute, p.memory, p.max_per_gpu)
        for gpu, profiles in catalog.MIG_PROFILES.items()
        for p in profiles.values()
    }
    assert actual == expected
    assert all(name == p.name for profiles in catalog.MIG_PROFILES.values() for name, p in profiles.items())


@pytest.mark.parametrize("fact", reference.mig_profiles(), ids=lambda f: f"{f.gpu}-{f.profile}")
def test_every_reference_profile_is_accepted_up_to_its_maximum_and_refused_beyond(fact):
    instance = INSTANCE_OF[fact.gpu]
    load_platform_config(config_with_pool(**mig(instance, {fact.profile: fact.max_per_gpu})), PROJECT, "dev")
    if fact.max_per_gpu < 7:
        [problem] = problems_of(**mig(instance, {fact.profile: fact.max_per_gpu + 1}))
        assert problem.startswith(
            f"platform.gpuPools[pool].sharing.layout: {fact.profile} fits at most {fact.max_per_gpu} times on one GPU"
        )


@pytest.mark.parametrize("gpu", sorted(INSTANCE_OF))
def test_every_preset_of_every_mig_gpu_is_accepted_and_fits_the_gpu_by_the_reference(gpu):
    # Judged by the reference's MIG table (tests/facts), not by the catalog that made the presets.
    facts = {f.profile: f for f in reference.mig_profiles() if f.gpu == gpu}
    presets = catalog.mig_presets(catalog.GPU_INSTANCES[INSTANCE_OF[gpu]].gpu)
    assert {"all-1g", "all-2g", "all-3g", "all-7g", "all-balanced"} <= set(presets)
    for preset, layout in presets.items():
        config = load_platform_config(config_with_pool(**mig(INSTANCE_OF[gpu], preset)), PROJECT, "dev")
        assert config.gpu_pools[0].mig_layout() == layout
        assert sum(facts[p].compute * n for p, n in layout.items()) <= 7, preset
        assert sum(facts[p].memory * n for p, n in layout.items()) <= 8, preset
        assert all(n <= facts[p].max_per_gpu for p, n in layout.items()), preset


# The 19 maximal GPU-instance layouts of an A100, by compute slices (MIG user guide, "Profile Placements"
# figure, 19 valid configurations), enumerated from `nvidia-smi mig -lgipp`'s placement table.
NVIDIA_VALID_CONFIGURATIONS = [
    (7,),
    (4, 3),
    (4, 2, 1),
    (4, 1, 1, 1),
    (3, 3),
    (3, 2, 1),
    (3, 1, 1, 1),
    (2, 2, 3),
    (2, 1, 1, 3),
    (1, 1, 2, 3),
    (1, 1, 1, 1, 3),
    (2, 2, 2, 1),
    (2, 1, 1, 2, 1),
    (1, 1, 2, 2, 1),
    (2, 1, 1, 1, 1, 1),
    (1, 1, 2, 1, 1, 1),
    (1, 1, 1, 1, 2, 1),
    (2, 2, 1, 1, 1),
    (1, 1, 1, 1, 1, 1, 1),
]


@pytest.mark.parametrize("gpu", sorted(INSTANCE_OF))
@pytest.mark.parametrize("configuration", NVIDIA_VALID_CONFIGURATIONS, ids=str)
def test_every_configuration_nvidia_documents_is_accepted_and_placed(gpu, configuration):
    model = catalog.GPU_INSTANCES[INSTANCE_OF[gpu]].gpu
    smallest = {}
    for profile in sorted(catalog.MIG_PROFILES[model.model].values(), key=lambda p: p.memory):
        smallest.setdefault(profile.compute, profile.name)
    layout: dict[str, int] = {}
    for compute in configuration:
        layout[smallest[compute]] = layout.get(smallest[compute], 0) + 1
    load_platform_config(config_with_pool(**mig(INSTANCE_OF[gpu], layout)), PROJECT, "dev")
    shapes = [
        (catalog.MIG_PROFILES[model.model][name].compute, catalog.MIG_PROFILES[model.model][name].memory)
        for name, n in layout.items()
        for _ in range(n)
    ]
    assert reference.place(shapes) is not None  # NVIDIA's start slots hold it


def test_4g_and_3g_together_are_accepted_since_driver_r510():
    # NVIDIA MIG user guide, concepts: "prior to NVIDIA driver release R510, the combination of a (4 memory,
    # 4 compute) and a (4 memory, 3 compute) profile was not supported. This restriction no longer applies".
    assert reference.place([(4, 4), (3, 4)]) == [0, 4]
    load_platform_config(config_with_pool(**mig("p5.48xlarge", {"4g.40gb": 1, "3g.40gb": 1})), PROJECT, "dev")


def test_eight_one_slice_instances_have_no_place_and_are_refused_by_their_compute_slices():
    # A 1-slice instance cannot start at slot 7, so eight of them cannot be placed even where memory adds up.
    assert reference.place([(1, 1)] * 7) == [0, 1, 2, 3, 4, 5, 6]
    assert reference.place([(1, 1)] * 8) is None
    eight = catalog.MigProfile("1g.x", 1, 1, 8)
    fake = catalog.Gpu("fake", 80, mig=True, accelerator="x")
    catalog.MIG_PROFILES[fake.model] = {"1g.x": eight}
    try:
        assert catalog.mig_layout_problems(fake, {"1g.x": 8}, "fake GPU") == [
            "needs 8 of 7 compute and 8 of 8 memory slices of one fake GPU; a layout that fits: 1g.x: 7"
        ]
    finally:
        del catalog.MIG_PROFILES[fake.model]


def test_all_balanced_is_two_1g_one_2g_one_3g_of_the_smallest_memory_sizes():
    assert catalog.mig_presets(catalog.H100_80GB)["all-balanced"] == {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1}
    assert catalog.mig_presets(catalog.H200_141GB)["all-balanced"] == {"1g.18gb": 2, "2g.35gb": 1, "3g.71gb": 1}


H100 = "H100 80GB (p5.48xlarge)"
BAD_SHARING = [
    (
        mig("p5.48xlarge", {"2g.35gb": 1}),
        (
            f"platform.gpuPools[pool].sharing.layout: 2g.35gb is not a MIG profile of {H100}; allowed: 1g.10gb, 1g.20gb, "
            "2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb"
        ),
    ),
    (
        mig("p4d.24xlarge", {"1g.10gb": 5}),
        (
            "platform.gpuPools[pool].sharing.layout: 1g.10gb fits at most 4 times on one GPU (got 5); needs 5 of 7 "
            "compute and 10 of 8 memory slices of one A100 40GB (p4d.24xlarge); a layout that fits: 1g.10gb: 4"
        ),
    ),
    (
        mig("p5.48xlarge", {"3g.40gb": 2, "1g.10gb": 1}),
        (
            f"platform.gpuPools[pool].sharing.layout: needs 7 of 7 compute and 9 of 8 memory slices of one {H100}; a layout "
            "that fits: 3g.40gb: 2"
        ),
    ),
    (
        mig("p5.48xlarge", {"4g.40gb": 1, "3g.40gb": 1, "1g.10gb": 1}),
        (
            f"platform.gpuPools[pool].sharing.layout: needs 8 of 7 compute and 9 of 8 memory slices of one {H100}; a layout "
            "that fits: 4g.40gb: 1, 3g.40gb: 1"
        ),
    ),
    (
        mig("p5.48xlarge", {"7g.80gb": 1, "1g.10gb": 1}),
        (
            f"platform.gpuPools[pool].sharing.layout: needs 8 of 7 compute and 9 of 8 memory slices of one {H100}; a layout "
            "that fits: 7g.80gb: 1"
        ),
    ),
    (
        mig("p5.48xlarge", {"1g.10gb": 8}),
        (
            "platform.gpuPools[pool].sharing.layout: must be a preset name such as all-1g, or profile counts from 1 to 7 "
            "such as 1g.10gb: 7 (got {'1g.10gb': 8})"
        ),
    ),
    (
        mig("p5e.48xlarge", {"1g.10gb": 7}),
        (
            "platform.gpuPools[pool].sharing.layout: 1g.10gb is not a MIG profile of H200 141GB (p5e.48xlarge); allowed: "
            "1g.18gb, 1g.35gb, 2g.35gb, 3g.71gb, 4g.71gb, 7g.141gb"
        ),
    ),
    (
        mig("p5.48xlarge", "all-9g"),
        (
            f"platform.gpuPools[pool].sharing.layout: all-9g is not a MIG preset of {H100}; allowed: all-1g.10gb, "
            "all-1g.20gb, all-2g.20gb, all-3g.40gb, all-4g.40gb, all-7g.80gb, all-1g, all-2g, all-3g, all-4g, all-7g, "
            "all-balanced, or profile counts"
        ),
    ),
    (
        mig("g6.xlarge", "all-1g"),
        "platform.gpuPools[pool].sharing.mode: L4 (g6.xlarge) has no MIG; share it with time-slicing",
    ),
    (
        mig("g5.48xlarge", {"1g.10gb": 7}),
        "platform.gpuPools[pool].sharing.mode: A10G (g5.48xlarge) has no MIG; share it with time-slicing",
    ),
    (
        mig("g6e.12xlarge", "all-balanced"),
        "platform.gpuPools[pool].sharing.mode: L40S (g6e.12xlarge) has no MIG; share it with time-slicing",
    ),
    (
        mig("p5.48xlarge", "all-balanced", strategy="single"),
        (
            "platform.gpuPools[pool].sharing.strategy: single advertises every MIG device as nvidia.com/gpu, so the layout "
            "must use one profile (got 1g.10gb, 2g.20gb, 3g.40gb); use strategy mixed"
        ),
    ),
    (
        {"instanceTypes": ["p5.48xlarge"], "sharing": {"mode": "mig"}},
        "platform.gpuPools[pool].sharing.layout: is required with mode mig: a preset such as all-1g, or profile counts",
    ),
    (
        {"instanceTypes": ["p5.48xlarge"], "sharing": {"mode": "mig", "layout": "all-1g", "strategy": "double"}},
        "platform.gpuPools[pool].sharing.strategy: must be one of single or mixed (got 'double')",
    ),
    (
        {"instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing", "replicas": 1}},
        "platform.gpuPools[pool].sharing.replicas: must be between 2 and 16 (got 1)",
    ),
    (
        {"instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing", "replicas": 17}},
        "platform.gpuPools[pool].sharing.replicas: must be between 2 and 16 (got 17)",
    ),
    (
        {"instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing"}},
        "platform.gpuPools[pool].sharing.replicas: is required with mode time-slicing (2 to 16)",
    ),
    (
        {"instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing", "replicas": 4, "layout": "all-1g"}},
        "platform.gpuPools[pool].sharing.layout: only applies to mode mig (mode is time-slicing)",
    ),
    (
        {"instanceTypes": ["p5.48xlarge"], "sharing": {"mode": "mig", "layout": "all-1g", "replicas": 2}},
        "platform.gpuPools[pool].sharing.replicas: only applies to mode time-slicing (mode is mig)",
    ),
    (
        {"instanceTypes": ["g6.xlarge"], "sharing": {"mode": "fractional"}},
        "platform.gpuPools[pool].sharing.mode: must be one of none, time-slicing or mig (got 'fractional')",
    ),
    (
        {
            "instanceTypes": ["g6.xlarge"],
            "amiType": "BOTTLEROCKET_x86_64_NVIDIA",
            "sharing": {"mode": "time-slicing", "replicas": 4},
        },
        (
            "platform.gpuPools[pool].sharing.mode: time-slicing needs the GPU Operator's device plugin, which Bottlerocket "
            "replaces with its own; use amiType AL2023_x86_64_NVIDIA"
        ),
    ),
]


@pytest.mark.parametrize("pool, message", BAD_SHARING, ids=[f"case{i}" for i in range(len(BAD_SHARING))])
def test_bad_sharing_config_is_rejected_naming_the_pool_and_what_is_allowed(pool, message):
    assert problems_of(**pool) == [message]


# --- the plan: cluster ------------------------------------------------------


def test_prod_cluster_is_private_encrypted_logged_and_uses_access_entries(prod_plan: Plan):
    # The EKS cluster as pulumi-eks registers it (offline/pulumi_eks.py); its component shows no inputs.
    cluster = prod_plan.of_type("aws:eks/cluster:Cluster")[0]["inputs"]
    secrets_key = prod_plan.named("aws:kms/key:Key", "gpu-platform-prod-cluster-secrets")
    assert (
        cluster["vpcConfig"]["endpointPrivateAccess"] is True and cluster["vpcConfig"]["endpointPublicAccess"] is False
    )
    assert "publicAccessCidrs" not in cluster["vpcConfig"]
    assert cluster["encryptionConfig"] == {
        "provider": {"keyArn": secrets_key["outputs"]["arn"]},
        "resources": ["secrets"],
    }
    assert secrets_key["inputs"]["enableKeyRotation"] is True and secrets_key.get("protect") is True
    assert cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    [entry] = prod_plan.of_type("aws:eks/accessEntry:AccessEntry")
    assert entry["inputs"]["principalArn"] == "arn:aws:iam::123456789012:role/platform-admins"
    assert entry["inputs"]["tags"]["cost-center"] == "ml-platform"  # children carry the cost tags themselves
    [association] = prod_plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert association["inputs"]["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association["inputs"]["accessScope"] == {"type": "cluster"} and association["parent"] == entry["urn"]
    assert cluster["vpcConfig"]["subnetIds"] == prod_plan.outputs["privateSubnetIds"]
    assert cluster["version"] == "1.35"
    # Without the extendedSupport opt-in, EKS upgrades the control plane instead of billing extended support.
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}
    assert prod_plan.of_type("eks:index:Cluster")[0]["inputs"] == {}  # what the engine shows of the component
    # The OIDC provider is the platform's own, tagged.
    [oidc] = prod_plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc["inputs"]["clientIdLists"] == ["sts.amazonaws.com"] and oidc["inputs"]["tags"]["product"] == "inference"


def test_kubeconfig_is_a_secret_stack_output(prod_plan: Plan):
    kubeconfig = prod_plan.outputs["kubeconfig"]
    assert set(kubeconfig) == {"4dabf18193072939515e22adb298388d", "plaintext"}
    assert json.loads(json.loads(kubeconfig["plaintext"]))["kind"] == "Config"


def test_a_public_endpoint_only_where_config_allows_it():
    plan = Plan.of_config(
        with_changes(MINIMAL, {"cluster.endpointPublicAccess": True, "cluster.publicAccessCidrs": ["203.0.113.0/24"]})
    )
    vpc = plan.of_type("aws:eks/cluster:Cluster")[0]["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["publicAccessCidrs"] == ["203.0.113.0/24"]


# --- the plan: pools --------------------------------------------------------


def node_group(plan: Plan, pool: str) -> dict:
    return next(g["inputs"] for g in plan.of_type(NODE_GROUP) if g["urn"].endswith(f"-{pool}"))


def template_of(plan: Plan, group: dict) -> dict:
    template = plan.by_id(group["launchTemplate"]["id"])
    assert group["launchTemplate"]["version"] == str(template["outputs"]["latestVersion"])
    return template["inputs"]


def advertised_tag(group: dict) -> dict[str, int]:
    pairs = group["tags"]["gpu-platform/advertised-resources"].split(" ")
    return {name: int(count) for name, count in (p.split("=") for p in pairs)}


EXPECTED_POOLS = {
    # stack, pool: instance types, AMI, capacity, sizes, advertised per node
    ("dev", "shared-l4"): (["g6.xlarge", "g6.2xlarge"], "SPOT", (0, 0, 2), {"nvidia.com/gpu": 4}),
    ("prod", "h100-mig"): (["p5.48xlarge"], "ON_DEMAND", (1, 1, 4), {"nvidia.com/mig-1g.10gb": 56}),
    ("prod", "l40s-shared"): (["g6e.12xlarge"], "ON_DEMAND", (1, 2, 6), {"nvidia.com/gpu": 16}),
}


@pytest.mark.parametrize("stack, pool", sorted(EXPECTED_POOLS))
def test_each_pool_is_a_tainted_labelled_node_group_in_private_subnets(stack, pool, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    types, capacity, (low, desired, high), advertised = EXPECTED_POOLS[(stack, pool)]
    group = node_group(plan, pool)
    assert group["instanceTypes"] == types and group["amiType"] == "AL2023_x86_64_NVIDIA"
    assert group["capacityType"] == capacity
    assert group["scalingConfig"] == {"minSize": low, "desiredSize": desired, "maxSize": high}
    assert group["subnetIds"] == plan.outputs["privateSubnetIds"]
    assert group["labels"]["gpu-platform.io/pool"] == pool
    assert group["labels"]["workload-type"] == "inference"
    assert group["taints"] == [{"key": "nvidia.com/gpu", "value": pool, "effect": "NO_SCHEDULE"}]
    assert group["tags"]["workload-type"] == "inference"
    assert advertised_tag(group) == advertised
    assert plan.outputs["gpuPools"][pool] == {
        "advertised": advertised,
        "nodeSelector": {"gpu-platform.io/pool": pool},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": pool, "effect": "NoSchedule"}],
    }


# The EKS node group API refuses label keys whose prefix contains these (aws/containers-roadmap#1451,
# eksctl-io/eksctl#4007: "Label cannot contain reserved prefixes [kubernetes.io/, k8s.io/, eks.amazonaws.com/]").
EKS_REFUSED = ("kubernetes.io/", "k8s.io/", "eks.amazonaws.com/")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_node_group_label_is_one_eks_accepts(stack, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    groups = plan.of_type(NODE_GROUP)
    assert len(groups) >= 2
    for group in groups:
        for key in group["inputs"]["labels"]:
            prefix = key.rpartition("/")[0] + "/"
            assert not any(part in prefix for part in EKS_REFUSED), (group["urn"], key)
    system = next(g["inputs"] for g in groups if g["urn"].endswith("-system"))
    assert system["labels"] == {"gpu-platform.io/system": "true"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_node_launch_template_requires_imdsv2_and_encrypts_and_tags_its_volumes(stack, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    groups = [g["inputs"] for g in plan.of_type(NODE_GROUP)]
    assert len(groups) == len(plan.of_type(LAUNCH_TEMPLATE)) >= 2
    for group in groups:
        template = template_of(plan, group)
        assert template["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 1,
            "instanceMetadataTags": "disabled",
        }
        [volume] = template["blockDeviceMappings"]
        assert volume["deviceName"] == "/dev/xvda" and volume["ebs"]["encrypted"] == "true"
        assert volume["ebs"]["volumeType"] == "gp3"
        assert {s["resourceType"] for s in template["tagSpecifications"]} == {"instance", "volume", "network-interface"}
        for spec in template["tagSpecifications"]:
            assert spec["tags"]["cost-center"] == "ml-platform" and spec["tags"]["environment"] == stack
        assert "diskSize" not in group  # with a launch template, the disk lives there


def test_gpu_pool_volumes_are_sized_from_config_and_instances_tagged_with_workload_type(prod_plan: Plan):
    template = template_of(prod_plan, node_group(prod_plan, "h100-mig"))
    assert template["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 500
    assert all(s["tags"]["workload-type"] == "inference" for s in template["tagSpecifications"])


def test_only_mig_pools_turn_mig_mode_on_before_kubelet_starts(prod_plan: Plan):
    user_data = base64.b64decode(template_of(prod_plan, node_group(prod_plan, "h100-mig"))["userData"]).decode()
    assert 'Content-Type: multipart/mixed; boundary="==GPU-PLATFORM=="' in user_data
    assert "Content-Type: text/x-shellscript" in user_data and "nvidia-smi -mig 1" in user_data
    assert "userData" not in template_of(prod_plan, node_group(prod_plan, "l40s-shared"))


CAPACITY_BLOCK = {
    "instanceTypes": ["p5.48xlarge"],
    "capacityType": "CAPACITY_BLOCK",
    "capacityReservationId": "cr-0123456789abcdef0",
    "availabilityZone": "us-east-1b",
    "size": {"minSize": 0, "desiredSize": 2, "maxSize": 2},
}


@pytest.fixture(scope="module")
def capacity_block_plan() -> Plan:
    return Plan.of_config(config_with_pool(**CAPACITY_BLOCK))


def test_capacity_block_pool_targets_its_reservation_with_the_type_in_its_launch_template(capacity_block_plan):
    # EKS user guide, Capacity Blocks for managed node groups: market type, reservation and instance type in the
    # launch template, capacity type CAPACITY_BLOCK on the node group.
    group = node_group(capacity_block_plan, "pool")
    template = template_of(capacity_block_plan, group)
    assert group["capacityType"] == "CAPACITY_BLOCK" and "instanceTypes" not in group
    assert template["instanceType"] == "p5.48xlarge"
    assert template["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert template["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationId": "cr-0123456789abcdef0"}
    }


def test_capacity_block_pool_runs_only_in_the_reservations_az(capacity_block_plan):
    subnets = {
        s["id"]: s["inputs"]["availabilityZone"]
        for s in capacity_block_plan.of_type("aws:ec2/subnet:Subnet")
        if s["inputs"]["tags"]["Name"].startswith("gpu-platform-test-network-private")
    }
    group = node_group(capacity_block_plan, "pool")
    assert [subnets[s] for s in group["subnetIds"]] == ["us-east-1b"]
    system = next(g["inputs"] for g in capacity_block_plan.of_type(NODE_GROUP) if g["urn"].endswith("-system"))
    assert sorted(subnets[s] for s in system["subnetIds"]) == ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_the_autoscaler_never_grows_a_capacity_block(capacity_block_plan):
    tags = asg_tags(capacity_block_plan)
    assert "pool" not in tags and set(tags) == {"system"}  # not discoverable: no gpu-platform.io/autoscaled
    # EKS scales the group to 0 before the reservation ends (its scheduled action): `pulumi up` must not undo it,
    # and EKS upgrades a Capacity Block group only at desired size 0: a version bump must not reach it by itself.
    assert capacity_block_plan.ignored_changes(capacity_block_plan.named(NODE_GROUP, "gpu-platform-test-pool")) == [
        "scalingConfig.desiredSize",
        "version",
    ]
    assert capacity_block_plan.of_type("aws:autoscaling/schedule:Schedule") == []


def test_a_capacity_block_with_a_start_grows_to_its_size_when_the_reservation_begins():
    plan = Plan.of_config(config_with_pool(**CAPACITY_BLOCK, capacityBlockStart="2026-12-01T11:30:00Z"))
    [schedule] = plan.of_type("aws:autoscaling/schedule:Schedule")
    group = plan.named(NODE_GROUP, "gpu-platform-test-pool")
    assert (
        schedule["inputs"]["autoscalingGroupName"] == group["outputs"]["resources"][0]["autoscalingGroups"][0]["name"]
    )
    assert (
        schedule["inputs"]["startTime"],
        schedule["inputs"]["minSize"],
        schedule["inputs"]["desiredCapacity"],
        schedule["inputs"]["maxSize"],
    ) == ("2026-12-01T11:30:00Z", 0, 2, 2)
    assert problems_of(**{**CAPACITY_BLOCK, "capacityBlockStart": "2026-12-01T11:30:00"}) == [
        (
            "platform.gpuPools[pool].capacityBlockStart: needs a time zone, e.g. 2026-12-01T11:30:00Z (got "
            "2026-12-01T11:30:00)"
        )
    ]
    assert problems_of(instanceTypes=["p5.48xlarge"], capacityBlockStart="2026-12-01T11:30:00Z") == [
        "platform.gpuPools[pool].capacityBlockStart: only applies to capacityType CAPACITY_BLOCK"
    ]


def test_a_capacity_block_az_outside_the_stack_is_refused_naming_the_key():
    import pulumi
    from gpu_platform.offline.engine import run_program

    from tests.planning import ROOT, stack_config

    config = config_with_pool(**{**CAPACITY_BLOCK, "availabilityZone": "us-east-1f"})  # azCount 3: a..c
    with pytest.raises(pulumi.RunError) as raised:  # `make plan` prints it as one line, no traceback
        run_program(ROOT, "test", stack_config(config))
    assert str(raised.value).endswith(
        "platform.gpuPools[pool].availabilityZone: us-east-1f is not one of this stack's AZs (us-east-1a, us-east-1b, "
        "us-east-1c); use one of them, or raise network.azCount to reach it"
    )


BAD_POOLS = [
    (
        {**CAPACITY_BLOCK, "availabilityZone": None},
        [
            (
                "platform.gpuPools[pool].availabilityZone: is required with capacityType CAPACITY_BLOCK: a Capacity Block lives "
                "in one AZ; give the AZ of the reservation (aws ec2 describe-capacity-reservations)"
            )
        ],
    ),
    (
        {**CAPACITY_BLOCK, "availabilityZone": "us-west-2a"},
        [
            (
                "platform.gpuPools[pool].availabilityZone: us-west-2a is not an AZ of the stack's region us-east-1 "
                "(us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1e, us-east-1f)"
            )
        ],
    ),
    (
        {**CAPACITY_BLOCK, "instanceTypes": ["g6e.12xlarge"]},
        [
            (
                "platform.gpuPools[pool].instanceTypes: g6e.12xlarge is not sold as a Capacity Block; allowed: p4d.24xlarge, "
                "p5.48xlarge, p5e.48xlarge, p5en.48xlarge"
            )
        ],
    ),
    (
        {**CAPACITY_BLOCK, "instanceTypes": ["p5e.48xlarge", "p5en.48xlarge"]},
        ["platform.gpuPools[pool].instanceTypes: a Capacity Block reserves one instance type; list only that one"],
    ),
    (
        {**CAPACITY_BLOCK, "size": {"minSize": 1, "desiredSize": 2, "maxSize": 2}},
        [
            (
                "platform.gpuPools[pool].size: minSize must be 0 with CAPACITY_BLOCK: EKS scales the group to 0 before the "
                "reservation ends"
            )
        ],
    ),
    (
        {"instanceTypes": ["g6.xlarge"], "efa": True, "availabilityZone": "us-east-1a"},
        ["platform.gpuPools[pool].efa: g6.xlarge has no EFA; EFA types here: " + ", ".join(catalog.EFA_TYPES)],
    ),
    (
        {"instanceTypes": ["p5.48xlarge"], "efa": True},
        [
            (
                "platform.gpuPools[pool].availabilityZone: is required with efa: EFA traffic stays in one subnet and the cluster "
                "placement group in one AZ"
            )
        ],
    ),
    (
        {"instanceTypes": ["g6e.24xlarge", "g6e.48xlarge"], "efa": True, "availabilityZone": "us-east-1a"},
        [
            (
                "platform.gpuPools[pool].instanceTypes: EFA pools need instance types with the same number of network cards; "
                "use one pool per type"
            )
        ],
    ),
    (
        {"instanceTypes": ["g6.xlarge"], "nodeLabels": {"node.kubernetes.io/team": "a"}},
        [
            (
                "platform.gpuPools[pool].nodeLabels: 'node.kubernetes.io/team' has a prefix EKS refuses on node groups "
                "(kubernetes.io/, k8s.io/, eks.amazonaws.com/); use a domain of your own, such as gpu-platform.io/team"
            )
        ],
    ),
    (
        {"instanceTypes": ["g6.xlarge"], "nodeLabels": {"team.k8s.io/name": "a", "gpu-platform.io/pool": "x"}},
        [
            (
                "platform.gpuPools[pool].nodeLabels: 'team.k8s.io/name' has a prefix EKS refuses on node groups (kubernetes.io/, "
                "k8s.io/, eks.amazonaws.com/); use a domain of your own, such as gpu-platform.io/name; 'gpu-platform.io/pool' "
                "is set by the platform itself"
            )
        ],
    ),
    (
        {"instanceTypes": ["g6.xlarge"], "nodeLabels": {"example.com/team": "a b", "Bad Key": "x"}},
        [
            (
                "platform.gpuPools[pool].nodeLabels: 'Bad Key' is not a Kubernetes label key: an optional DNS prefix and '/', "
                "then 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit; the value of "
                "'example.com/team' must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter "
                "or digit"
            )
        ],
    ),
]


@pytest.mark.parametrize("pool, messages", BAD_POOLS, ids=[f"case{i}" for i in range(len(BAD_POOLS))])
def test_bad_capacity_block_efa_and_label_config_is_refused_naming_the_key(pool, messages):
    assert problems_of(**{k: v for k, v in pool.items() if v is not None}) == messages


def test_a_pools_own_labels_reach_its_nodes_and_the_autoscalers_template():
    plan = Plan.of_config(config_with_pool(instanceTypes=["g6.xlarge"], nodeLabels={"example.com/team": "search"}))
    assert node_group(plan, "pool")["labels"]["example.com/team"] == "search"
    assert asg_tags(plan)["pool"][f"{TEMPLATE}/label/example.com/team"] == "search"


# --- EFA ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def efa_plan() -> Plan:
    return Plan.of_config(config_with_pool(instanceTypes=["p5.48xlarge"], efa=True, availabilityZone="us-east-1a"))


def test_an_efa_pool_has_one_efa_per_network_card_in_a_group_that_talks_to_itself(efa_plan: Plan):
    template = template_of(efa_plan, node_group(efa_plan, "pool"))
    cluster_sg = efa_plan.of_type("eks:index:Cluster")[0]["outputs"]["clusterSecurityGroupId"]
    efa_sg = efa_plan.named("aws:ec2/securityGroup:SecurityGroup", "gpu-platform-test-pool-efa")["id"]
    groups = [cluster_sg, efa_sg]  # the control plane reaches the node; EFA peers reach each other
    interfaces = template["networkInterfaces"]
    assert len(interfaces) == 32  # p5.48xlarge: 32 network cards
    assert interfaces[0] == {
        "networkCardIndex": 0,
        "deviceIndex": 0,
        "interfaceType": "efa",
        "deleteOnTermination": "true",
        "securityGroups": groups,
    }
    assert all(
        i["interfaceType"] == "efa-only" and i["deviceIndex"] == 1 and i["securityGroups"] == groups
        for i in interfaces[1:]
    )
    # EFA needs inbound and outbound rules that name the group itself (EC2 user guide, efa-start); the cluster
    # security group's only outbound rule is to 0.0.0.0/0, which EFA traffic does not match.
    rules = [
        r["inputs"]
        for t in (
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        )
        for r in efa_plan.of_type(t)
        if r["inputs"]["securityGroupId"] == efa_sg
    ]
    assert [(r["ipProtocol"], r["referencedSecurityGroupId"]) for r in rules] == [("-1", efa_sg), ("-1", efa_sg)]
    assert [i["networkCardIndex"] for i in interfaces] == list(range(32))
    assert all("subnetId" not in i for i in interfaces)  # a managed node group's template may not name one


def test_an_efa_pool_sits_in_a_cluster_placement_group_in_one_az(efa_plan: Plan):
    [placement] = efa_plan.of_type("aws:ec2/placementGroup:PlacementGroup")
    assert placement["inputs"]["strategy"] == "cluster"
    template = template_of(efa_plan, node_group(efa_plan, "pool"))
    assert template["placement"] == {"groupName": placement["outputs"]["name"]}
    assert len(node_group(efa_plan, "pool")["subnetIds"]) == 1


def test_an_efa_pool_advertises_its_interfaces_and_runs_the_efa_device_plugin(efa_plan: Plan):
    group = node_group(efa_plan, "pool")
    assert advertised_tag(group) == {"nvidia.com/gpu": 8, "vpc.amazonaws.com/efa": 32}
    assert group["labels"]["gpu-platform.io/efa"] == "true"
    release = next(
        r["inputs"] for r in efa_plan.of_type(RELEASE) if r["inputs"]["chart"] == "aws-efa-k8s-device-plugin"
    )
    assert (release["version"], release["namespace"]) == ("v0.5.30", "kube-system")
    assert release["repositoryOpts"] == {"repo": "https://aws.github.io/eks-charts"}
    values = release["values"]
    assert values["nodeSelector"] == {"gpu-platform.io/efa": "true"}
    assert values["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert values["additionalPodLabels"]["cost-center"] == "ml-platform"


def test_no_efa_pool_no_efa_plugin_and_no_placement_group(prod_plan: Plan):
    assert not prod_plan.of_type("aws:ec2/placementGroup:PlacementGroup")
    assert "aws-efa-k8s-device-plugin" not in {r["inputs"]["chart"] for r in prod_plan.of_type(RELEASE)}


def test_efa_inside_a_capacity_block_needs_no_placement_group():
    plan = Plan.of_config(config_with_pool(**CAPACITY_BLOCK, efa=True))
    assert plan.of_type("aws:ec2/placementGroup:PlacementGroup") == []
    template = template_of(plan, node_group(plan, "pool"))
    assert len(template["networkInterfaces"]) == 32 and "placement" not in template


# --- the plan: the GPU Operator's configuration -----------------------------


def gpu_operator_release(plan: Plan) -> dict:
    return next(r["inputs"] for r in plan.of_type(RELEASE) if r["inputs"]["chart"] == "gpu-operator")


def configmap(plan: Plan, name: str) -> dict:
    return next(c["inputs"] for c in plan.of_type(CONFIGMAP) if c["inputs"]["metadata"]["name"] == name)


def entry_names(plan: Plan, pool: str) -> tuple[str | None, str | None]:
    """The device-plugin and MIG entries a pool's nodes are labelled with."""
    labels = node_group(plan, pool)["labels"]
    return labels.get("nvidia.com/device-plugin.config"), labels.get("nvidia.com/mig.config")


def test_device_plugin_configmap_has_one_entry_per_shared_pool_matching_it_exactly(prod_plan: Plan):
    data = {k: yaml.safe_load(v) for k, v in configmap(prod_plan, "device-plugin-config")["data"].items()}
    mig_entry, _ = entry_names(prod_plan, "h100-mig")
    shared_entry, _ = entry_names(prod_plan, "l40s-shared")
    assert data == {
        "whole-gpus": {"version": "v1", "flags": {"migStrategy": "none"}},
        mig_entry: {"version": "v1", "flags": {"migStrategy": "mixed"}},
        shared_entry: {
            "version": "v1",
            "flags": {"migStrategy": "none"},
            "sharing": {
                "timeSlicing": {
                    "renameByDefault": False,
                    "failRequestsGreaterThanOne": True,
                    "resources": [{"name": "nvidia.com/gpu", "replicas": 4}],
                }
            },
        },
    }


def test_mig_configmap_keeps_all_disabled_and_holds_each_mig_pools_layout(prod_plan: Plan):
    cm = configmap(prod_plan, "mig-parted-config")
    _, layout_entry = entry_names(prod_plan, "h100-mig")
    assert list(cm["data"]) == ["config.yaml"]
    assert yaml.safe_load(cm["data"]["config.yaml"]) == {
        "version": "v1",
        "mig-configs": {
            "all-disabled": [{"devices": "all", "mig-enabled": False}],
            layout_entry: [{"devices": "all", "mig-enabled": True, "mig-devices": {"1g.10gb": 7}}],
        },
    }


def test_a_layout_change_is_a_label_change_made_after_the_configmaps_hold_the_new_entry():
    # The MIG manager applies a layout only when the node's nvidia.com/mig.config value changes (mig-parted
    # main.go: oldLabel != newLabel) and never watches its ConfigMap; EKS applies changed node-group labels to
    # running nodes (EKS user guide, managed node groups).
    def pool_plan(**sharing_) -> tuple[tuple, dict, Plan]:
        plan = Plan.of_config(config_with_pool(instanceTypes=["p5.48xlarge"], sharing=sharing_))
        return entry_names(plan, "pool"), template_of(plan, node_group(plan, "pool")), plan

    (plugin_a, layout_a), template_a, plan_a = pool_plan(mode="mig", layout="all-1g")
    (plugin_b, layout_b), template_b, _ = pool_plan(mode="mig", layout="all-balanced")
    (_plugin_c, layout_c), _, _ = pool_plan(mode="mig", layout={"1g.10gb": 7})  # the same layout, written out
    assert layout_a != layout_b and layout_a == layout_c and plugin_a == plugin_b
    assert layout_a.startswith("pool-") and len(layout_a) == len("pool-") + 8
    # Relabelled in place, not rolled: the launch template (and so the nodes) stay as they are.
    assert template_a == template_b
    # The node group is relabelled only after the ConfigMaps hold the entry its new label names.
    group = plan_a.named(NODE_GROUP, "gpu-platform-test-pool")
    configmaps = {
        c["urn"]
        for c in plan_a.of_type(CONFIGMAP)
        if c["inputs"]["metadata"]["name"] in ("device-plugin-config", "mig-parted-config")
    }
    assert len(configmaps) == 2 and configmaps <= set(group["dependencies"])
    (plugin_4, _), _, _ = pool_plan(mode="time-slicing", replicas=4)
    (plugin_8, _), _, _ = pool_plan(mode="time-slicing", replicas=8)
    assert plugin_4 != plugin_8


def test_entry_names_stay_valid_label_values_for_the_longest_pool_names():
    name = "p" * 63
    plan = Plan.of_config(
        with_changes(
            MINIMAL,
            {
                "gpuPools": [
                    {"name": name, "instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing", "replicas": 2}}
                ]
            },
        )
    )
    plugin, _ = entry_names(plan, name)
    assert len(plugin) == 63 and plugin.startswith("p" * 54 + "-")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_pools_config_labels_name_existing_entries(stack, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    plugin = configmap(plan, "device-plugin-config")["data"]
    migs = yaml.safe_load(configmap(plan, "mig-parted-config")["data"]["config.yaml"])["mig-configs"]
    from tests.planning import fixture_platform

    modes = {
        p.name: p.sharing.mode.value for p in load_platform_config(fixture_platform(stack), PROJECT, stack).gpu_pools
    }
    groups = [g["inputs"] for g in plan.of_type(NODE_GROUP) if "gpu-platform.io/pool" in g["inputs"].get("labels", {})]
    assert {g["labels"]["gpu-platform.io/pool"] for g in groups} == set(modes)
    for group in groups:
        labels, mode = group["labels"], modes[group["labels"]["gpu-platform.io/pool"]]
        # A shared pool must name its entries; a whole-GPU pool may rely on the defaults.
        if mode in ("time-slicing", "mig"):
            assert labels["nvidia.com/device-plugin.config"] in plugin
        if mode == "mig":
            assert labels["nvidia.com/mig.config"] in migs
        assert labels.get("nvidia.com/device-plugin.config", "whole-gpus") in plugin
        assert labels.get("nvidia.com/mig.config", "all-disabled") in migs


def test_operator_chart_is_pinned_and_uses_the_amis_driver_and_the_pool_configs(prod_plan: Plan):
    release = gpu_operator_release(prod_plan)
    assert (release["chart"], release["version"], release["namespace"]) == ("gpu-operator", "v26.7.0", "gpu-operator")
    assert release["repositoryOpts"] == {"repo": "https://helm.ngc.nvidia.com/nvidia"}
    values = release["values"]
    assert values["driver"] == {"enabled": False} and values["toolkit"] == {"enabled": False}
    assert values["devicePlugin"]["config"] == {"name": "device-plugin-config", "default": "whole-gpus"}
    assert values["migManager"]["config"] == {"name": "mig-parted-config", "default": "all-disabled"}
    assert values["mig"] == {"strategy": ""}
    assert values["dcgmExporter"]["serviceMonitor"]["enabled"] is True
    toleration = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    assert values["daemonsets"]["tolerations"] == [toleration]
    assert values["node-feature-discovery"]["worker"]["tolerations"] == [toleration]
    assert values["daemonsets"]["labels"]["cost-center"] == "ml-platform"


def test_time_sliced_gpus_are_attributed_to_every_pod_sharing_them(prod_plan: Plan):
    # dcgm-exporter names only one pod per device unless KUBERNETES_VIRTUAL_GPUS is set (kubernetes.go).
    env = gpu_operator_release(prod_plan)["values"]["dcgmExporter"]["env"]
    assert env == [{"name": "KUBERNETES_VIRTUAL_GPUS", "value": "true"}]  # prod has a time-sliced pool
    mig_only = Plan.of_config(config_with_pool(**mig("p5.48xlarge", "all-1g")))
    assert gpu_operator_release(mig_only)["values"]["dcgmExporter"]["env"] == []


def test_without_observability_the_operator_makes_no_service_monitor():
    plan = Plan.of_config(with_changes(config_with_pool(instanceTypes=["g6.xlarge"]), {"observability.enabled": False}))
    assert gpu_operator_release(plan)["values"]["dcgmExporter"]["serviceMonitor"]["enabled"] is False


def test_no_gpu_pools_no_operator():
    charts = [r["inputs"]["chart"] for r in Plan.of_config(MINIMAL).of_type(RELEASE)]
    assert "gpu-operator" not in charts and charts  # observability charts stay


def test_platform_services_wait_for_the_system_nodes_they_run_on(prod_plan: Plan):
    system = next(g["urn"] for g in prod_plan.of_type(NODE_GROUP) if g["urn"].endswith("-cluster-system"))
    ours = [a for a in prod_plan.of_type("aws:eks/addon:Addon") if "eks:index:Cluster" not in a["urn"]]
    waiting = prod_plan.of_type(RELEASE) + ours  # pulumi-eks's vpc-cni and kube-proxy need no nodes
    # gpu-operator, gatekeeper, LB controller, prometheus stack, metrics adapter, autoscaler, fluent-bit, add-ons
    assert len(waiting) == 10
    for resource in waiting:
        assert system in resource["dependencies"], resource["urn"]


def test_service_accounts_wait_for_their_namespace(prod_plan: Plan):
    namespaces = {n["inputs"]["metadata"]["name"]: n["urn"] for n in prod_plan.of_type("kubernetes:core/v1:Namespace")}
    accounts = [
        a
        for a in prod_plan.of_type("kubernetes:core/v1:ServiceAccount")
        if a["inputs"]["metadata"]["namespace"] in namespaces
    ]  # kube-system exists already
    assert len(accounts) == 3  # the model server, fluent-bit, the example service's server
    for account in accounts:
        assert namespaces[account["inputs"]["metadata"]["namespace"]] in account["dependencies"]


def test_mig_user_data_keeps_a_node_out_rather_than_join_in_the_wrong_mode(prod_plan: Plan):
    # Its behaviour is tested against stub GPU tools in tests/test_mig_mode_script.py.
    script = base64.b64decode(template_of(prod_plan, node_group(prod_plan, "h100-mig"))["userData"]).decode()
    assert "set -e" not in script  # a failed command must reach the decision below, not abort it
    assert "nvidia-smi -mig 1" in script and "Requisite=gpu-platform-mig-mode.service" in script
    assert "shutdown -h now" in script


# --- the Cluster Autoscaler ---------------------------------------------------

TEMPLATE = "k8s.io/cluster-autoscaler/node-template"


def asg_tags(plan: Plan) -> dict[str, dict[str, str]]:
    """Tags the platform puts on each node group's Auto Scaling group, by the group's pool (or system)."""
    by_group: dict[str, dict[str, str]] = {}
    for t in plan.of_type("aws:autoscaling/tag:Tag"):
        tag = t["inputs"]["tag"]
        by_group.setdefault(t["inputs"]["autoscalingGroupName"], {})[tag["key"]] = tag["value"]
        assert tag["propagateAtLaunch"] is False
    groups = {g["outputs"]["resources"][0]["autoscalingGroups"][0]["name"]: g for g in plan.of_type(NODE_GROUP)}
    return {
        groups[asg]["inputs"]["labels"].get("gpu-platform.io/pool", "system"): tags for asg, tags in by_group.items()
    }


def test_every_pool_tells_the_autoscaler_what_an_empty_group_would_offer(prod_plan: Plan):
    tags = asg_tags(prod_plan)
    assert set(tags) == {"system", "h100-mig", "l40s-shared"}
    assert tags["h100-mig"][f"{TEMPLATE}/resources/nvidia.com/mig-1g.10gb"] == "56"
    assert tags["l40s-shared"][f"{TEMPLATE}/resources/nvidia.com/gpu"] == "16"
    assert tags["h100-mig"][f"{TEMPLATE}/taint/nvidia.com/gpu"] == "h100-mig:NoSchedule"
    assert tags["h100-mig"][f"{TEMPLATE}/label/gpu-platform.io/pool"] == "h100-mig"


def test_a_mig_mixed_pool_tells_the_autoscaler_it_offers_no_whole_gpus(prod_plan: Plan):
    # The autoscaler assumes the instance type's 8 GPUs as nvidia.com/gpu unless a tag says otherwise
    # (aws_manager.go buildNodeFromTemplate): a pod asking for nvidia.com/gpu must not scale up h100-mig.
    assert asg_tags(prod_plan)["h100-mig"][f"{TEMPLATE}/resources/nvidia.com/gpu"] == "0"


def test_pools_that_offer_whole_or_shared_gpus_carry_the_autoscalers_gpu_label(dev_plan: Plan, prod_plan: Plan):
    accelerator = "k8s.amazonaws.com/accelerator"
    assert node_group(dev_plan, "shared-l4")["labels"][accelerator] == "nvidia-l4"
    assert node_group(prod_plan, "l40s-shared")["labels"][accelerator] == "nvidia-l40s"
    assert asg_tags(prod_plan)["l40s-shared"][f"{TEMPLATE}/label/{accelerator}"] == "nvidia-l40s"
    # With the label and no nvidia.com/gpu a node looks unready to the autoscaler for ever (gpu_processor.go).
    assert accelerator not in node_group(prod_plan, "h100-mig")["labels"]
    whole = Plan.of_config(config_with_pool(instanceTypes=["p5.48xlarge"]))
    assert node_group(whole, "pool")["labels"][accelerator] == "nvidia-h100"


def test_the_autoscaler_owns_the_desired_size_of_every_group_it_resizes(prod_plan: Plan):
    for group in prod_plan.of_type(NODE_GROUP):
        assert prod_plan.ignored_changes(group) == ["scalingConfig.desiredSize"], group["urn"]


def test_the_autoscaler_may_resize_only_the_groups_the_platform_handed_it(prod_plan: Plan):
    from tests.iam_eval import ALLOW, IMPLICIT_DENY, Request, decide

    role = prod_plan.named("aws:iam/role:Role", "gpu-platform-prod-autoscaler-role")
    [policy] = [
        p["inputs"]["policy"]
        for p in prod_plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p["inputs"]["role"] == role["id"]
    ]
    group = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/eks-a"
    eks_owned = {"aws:ResourceTag/k8s.io/cluster-autoscaler/gpu-platform-prod-cluster": "owned"}
    handed = {**eks_owned, "aws:ResourceTag/gpu-platform.io/autoscaled": "gpu-platform-prod-cluster"}
    assert decide(policy, Request("autoscaling:SetDesiredCapacity", group, context=handed)) == ALLOW
    assert decide(policy, Request("autoscaling:SetDesiredCapacity", group, context=eks_owned)) == IMPLICIT_DENY
    assert decide(policy, Request("autoscaling:SetDesiredCapacity", group)) == IMPLICIT_DENY
    other = {
        "aws:ResourceTag/k8s.io/cluster-autoscaler/another-cluster": "owned",
        "aws:ResourceTag/gpu-platform.io/autoscaled": "another-cluster",
    }
    assert (
        decide(policy, Request("autoscaling:TerminateInstanceInAutoScalingGroup", group, context=other))
        == IMPLICIT_DENY
    )
    assert decide(policy, Request("eks:DescribeNodegroup", "*")) == ALLOW
    assert decide(policy, Request("autoscaling:DeleteAutoScalingGroup", group, context=handed)) == IMPLICIT_DENY
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:cluster-autoscaler" in trust.values()
    # The tag the policy asks for is on every group the autoscaler discovers, with the same value.
    assert {tags["gpu-platform.io/autoscaled"] for tags in asg_tags(prod_plan).values()} == {
        "gpu-platform-prod-cluster"
    }


@pytest.mark.parametrize(
    "minor, chart, image",
    [
        ("1.32", "9.46.6", "v1.32.7"),
        ("1.33", "9.51.0", "v1.33.6"),
        ("1.34", "9.53.0", "v1.34.5"),
        ("1.35", "9.59.0", "v1.35.2"),
    ],
)
def test_the_autoscaler_is_the_release_of_the_clusters_minor(minor, chart, image):
    # kubernetes/autoscaler tags: the chart whose appVersion is the minor, the minor's latest patch image.
    release = catalog.CLUSTER_AUTOSCALER[minor]
    assert (release.chart_version, release.image_tag) == (chart, image)


def test_every_supported_minor_has_an_autoscaler_whose_role_can_watch_what_it_needs():
    # volumeattachments came in chart 9.46.3 (kubernetes/autoscaler#7663); resource.k8s.io (DRA, which 1.35
    # locks on) in chart 9.54.0.
    def version(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.split("."))

    assert set(catalog.CLUSTER_AUTOSCALER) == set(catalog.EKS_KUBERNETES_VERSIONS)
    for minor, release in catalog.CLUSTER_AUTOSCALER.items():
        assert version(release.chart_version) >= (9, 46, 3), minor
        assert release.image_tag.startswith(f"v{minor}."), minor
        if version(minor) >= (1, 35):
            assert version(release.chart_version) >= (9, 54, 0), minor


def test_the_autoscaler_release_follows_the_cluster_and_discovers_only_handed_groups(prod_plan: Plan):
    release = next(r["inputs"] for r in prod_plan.of_type(RELEASE) if r["inputs"]["chart"] == "cluster-autoscaler")
    assert release["version"] == "9.59.0"
    values = release["values"]
    assert values["autoDiscovery"] == {
        "clusterName": "gpu-platform-prod-cluster",
        "tags": [
            "k8s.io/cluster-autoscaler/enabled",
            "k8s.io/cluster-autoscaler/gpu-platform-prod-cluster",
            "gpu-platform.io/autoscaled=gpu-platform-prod-cluster",
        ],
    }
    assert values["image"] == {"tag": "v1.35.2"} and values["awsRegion"] == "us-east-1"
    assert values["rbac"]["serviceAccount"] == {"create": False, "name": "cluster-autoscaler"}
    assert values["nodeSelector"] == {"gpu-platform.io/system": "true"}


def test_without_the_autoscaler_pools_keep_their_configured_size():
    plan = Plan.of_config(with_changes(config_with_pool(instanceTypes=["g6.xlarge"]), {"cluster.autoscaler": False}))
    assert plan.of_type("aws:autoscaling/tag:Tag") == []
    for group in plan.of_type(NODE_GROUP):
        assert plan.ignored_changes(group) == [], group["urn"]


def test_pulumi_eks_children_depend_on_what_their_inputs_came_from(prod_plan: Plan):
    # A remote provider's Construct keeps each input's dependencies (pulumi sdk/nodejs/provider/server.ts).
    cluster = prod_plan.of_type("aws:eks/cluster:Cluster")[0]
    subnets = {s["urn"] for s in prod_plan.of_type("aws:ec2/subnet:Subnet") if "private" in s["urn"]}
    key = prod_plan.named("aws:kms/key:Key", "gpu-platform-prod-cluster-secrets")["urn"]
    role = prod_plan.of_type("aws:iam/role:Role")
    service_role = next(r["urn"] for r in role if r["urn"].endswith("-eksRole-role"))
    assert subnets | {key, service_role} <= set(cluster["dependencies"])
    [association] = prod_plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert cluster["urn"] in association["dependencies"]


# --- what a pool advertises and how its nodes are labelled (mutation survivors, issue "Tests that catch bugs") --


def pool_of(**pool):
    return load_platform_config(config_with_pool(**pool), PROJECT, "dev").gpu_pools[0]


def test_a_mig_single_pool_advertises_its_slices_as_whole_gpus():
    # strategy single: every slice of the node is an nvidia.com/gpu (8 H100s x 7 1g slices)
    assert sharing.advertised(pool_of(**mig("p5.48xlarge", "all-1g", "single"))) == {"nvidia.com/gpu": 56}
    assert sharing.advertised(pool_of(**mig("p5.48xlarge", "all-1g"))) == {"nvidia.com/mig-1g.10gb": 56}


@pytest.mark.parametrize(
    "pool",
    [
        {"instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing", "replicas": 4}},
        mig("p5.48xlarge", "all-1g"),
    ],
    ids=["time-slicing", "mig"],
)
def test_a_shared_al2023_pool_names_its_device_plugin_config_and_never_gets_bottlerocket_labels(pool):
    labels = sharing.node_labels(pool_of(**pool))
    # the operator's device plugin reads the pool's entry by this label (the whole-GPU pools use the default)
    assert labels[sharing.DEVICE_PLUGIN_CONFIG_LABEL] in gpu_operator.device_plugin_configs([pool_of(**pool)])
    assert not any(key.startswith("nvidia.com/gpu.deploy.") for key in labels)


def test_a_bottlerocket_pool_keeps_the_operator_from_deploying_a_second_device_plugin():
    labels = sharing.node_labels(pool_of(instanceTypes=["g6.xlarge"], amiType="BOTTLEROCKET_x86_64_NVIDIA"))
    assert labels["nvidia.com/gpu.deploy.device-plugin"] == "false"
    assert labels["nvidia.com/gpu.deploy.mig-manager"] == "false"


def test_an_entry_name_follows_what_the_entry_says_not_the_order_its_keys_were_written_in():
    """The MIG manager re-lays out a node whenever its entry name changes (sharing.config_name): the same
    entry written with its keys in another order must keep its name, or nodes would be drained for nothing."""
    pool = load_platform_config(config_with_pool(**mig("p5.48xlarge", "all-1g")), PROJECT, "dev").gpu_pools[0]
    entry = {"version": "v1", "flags": {"migStrategy": "mixed", "failOnInitError": True}}
    reordered = {"flags": {"failOnInitError": True, "migStrategy": "mixed"}, "version": "v1"}
    assert sharing.config_name(pool, reordered) == sharing.config_name(pool, entry)
    assert sharing.config_name(pool, {**entry, "version": "v2"}) != sharing.config_name(pool, entry)


def test_a_layout_of_unknown_profiles_names_each_and_the_gpu_model_when_no_place_is_given():
    gpu = catalog.GPU_INSTANCES["p5.48xlarge"].gpu
    assert catalog.mig_layout_problems(gpu, {"9g.90gb": 1, "8g.80gb": 1}) == [
        (
            "9g.90gb, 8g.80gb is not a MIG profile of H100 80GB; allowed: 1g.10gb, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, "
            "7g.80gb"
        )
    ]


@pytest.mark.parametrize("gpu", sorted(INSTANCE_OF))
def test_every_layout_within_the_slice_totals_can_be_placed_so_the_totals_are_the_whole_check(gpu):
    """Config validation checks each profile's maximum and the 7 compute and 8 memory slices: that is enough
    only if every such layout, and no other, has start slots in NVIDIA's table (tests/facts)."""
    model = catalog.GPU_INSTANCES[INSTANCE_OF[gpu]].gpu
    profiles = catalog.MIG_PROFILES[model.model]
    layouts = [
        {name: n for name, n in zip(profiles, counts) if n}
        for counts in itertools.product(*(range(p.max_per_gpu + 1) for p in profiles.values()))
    ]
    placeable = [
        reference.place(
            [(profiles[name].compute, profiles[name].memory) for name, n in layout.items() for _ in range(n)]
        )
        is not None
        for layout in layouts
    ]
    within = [catalog.within_slices(model, layout) for layout in layouts]
    assert sum(within) > 50 and within == placeable
    # validation accepts each of them, and refuses the first beyond with the slice count
    assert [layout for layout, ok in zip(layouts, within) if ok and catalog.mig_layout_problems(model, layout)] == []
    [problem] = catalog.mig_layout_problems(model, layouts[within.index(False)])
    assert problem.startswith("needs ")


def test_a_layout_too_big_is_answered_with_the_largest_that_fits_dropping_compute_then_memory_slices():
    # 3 x 1g.10gb + 3 x 1g.20gb needs 9 memory slices; keeping 5 compute slices there are two ways: two 1g.10gb
    # and three 1g.20gb (all 8 memory slices) or three and two (7): the one that keeps more memory is offered.
    [problem] = problems_of(**mig("p4de.24xlarge", {"1g.10gb": 3, "1g.20gb": 3}))
    assert problem == (
        "platform.gpuPools[pool].sharing.layout: needs 6 of 7 compute and 9 of 8 memory slices of one A100 80GB "
        "(p4de.24xlarge); a layout that fits: 1g.10gb: 2, 1g.20gb: 3"
    )
    # never more of a profile than was asked for: two 3g.40gb, not one and two 2g.20gb (7 compute slices)
    assert catalog.largest_fitting(catalog.A100_80GB, {"3g.40gb": 2, "2g.20gb": 1}) == {"3g.40gb": 2}
