"""GPU pools, read from plans and checked against the team's reference: sharing, advertising, placement."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from components import catalog
from components.config import ConfigError, load_platform_config
from tests import reference
from tests.planning import MINIMAL, PROJECT, Plan, with_changes

NODE_GROUP = "eks:index:ManagedNodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
CONFIGMAP = "kubernetes:core/v1:ConfigMap"
RELEASE = "kubernetes:helm.sh/v3:Release"
INSTANCE_OF = {"A100 40GB": "p4d.24xlarge", "A100 80GB": "p4de.24xlarge", "H100 80GB": "p5.48xlarge",
               "H200 141GB": "p5e.48xlarge"}


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

def test_catalog_knows_every_reference_instance_type_with_its_gpus():
    expected = {i.instance_type: (i.gpus, i.model, i.mig) for i in reference.instances()}
    actual = {t: (i.gpu_count, i.gpu.model, i.gpu.mig) for t, i in catalog.GPU_INSTANCES.items()}
    assert actual == expected


@pytest.mark.parametrize("fact", reference.mig_profiles(), ids=lambda f: f"{f.gpu}-{f.profile}")
def test_every_reference_profile_is_accepted_up_to_its_maximum_and_refused_beyond(fact):
    instance = INSTANCE_OF[fact.gpu]
    load_platform_config(config_with_pool(**mig(instance, {fact.profile: fact.max_per_gpu})), PROJECT, "dev")
    if fact.max_per_gpu < 7:
        [problem] = problems_of(**mig(instance, {fact.profile: fact.max_per_gpu + 1}))
        assert problem.startswith(f"platform.gpuPools[0].sharing.layout: {fact.profile} fits at most "
                                  f"{fact.max_per_gpu} times on one GPU")


@pytest.mark.parametrize("gpu", sorted(INSTANCE_OF))
def test_every_preset_of_every_mig_gpu_is_accepted(gpu):
    for preset in catalog.mig_presets(catalog.GPU_INSTANCES[INSTANCE_OF[gpu]].gpu):
        load_platform_config(config_with_pool(**mig(INSTANCE_OF[gpu], preset)), PROJECT, "dev")


def test_all_balanced_is_two_1g_one_2g_one_3g_of_the_smallest_memory_sizes():
    assert catalog.mig_presets(catalog.H100_80GB)["all-balanced"] == {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1}
    assert catalog.mig_presets(catalog.H200_141GB)["all-balanced"] == {"1g.18gb": 2, "2g.35gb": 1, "3g.71gb": 1}


H100 = "H100 80GB (p5.48xlarge)"
BAD_SHARING = [
    (mig("p5.48xlarge", {"2g.35gb": 1}),
     f"platform.gpuPools[0].sharing.layout: 2g.35gb is not a MIG profile of {H100}; allowed: 1g.10gb, 1g.20gb, "
     "2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb"),
    (mig("p4d.24xlarge", {"1g.10gb": 5}),
     "platform.gpuPools[0].sharing.layout: 1g.10gb fits at most 4 times on one GPU (got 5); needs 5 of 7 "
     "compute and 10 of 8 memory slices of one A100 40GB (p4d.24xlarge)"),
    (mig("p5.48xlarge", {"3g.40gb": 2, "1g.10gb": 1}),
     f"platform.gpuPools[0].sharing.layout: needs 7 of 7 compute and 9 of 8 memory slices of one {H100}"),
    (mig("p5.48xlarge", {"4g.40gb": 1, "3g.40gb": 1, "1g.10gb": 1}),
     f"platform.gpuPools[0].sharing.layout: needs 8 of 7 compute and 9 of 8 memory slices of one {H100}"),
    (mig("p5.48xlarge", {"7g.80gb": 1, "1g.10gb": 1}),
     f"platform.gpuPools[0].sharing.layout: needs 8 of 7 compute and 9 of 8 memory slices of one {H100}"),
    (mig("p5.48xlarge", {"1g.10gb": 8}),
     "platform.gpuPools[0].sharing.layout: must be a preset name such as all-1g, or profile counts from 1 to 7 "
     "such as 1g.10gb: 7 (got {'1g.10gb': 8})"),
    (mig("p5e.48xlarge", {"1g.10gb": 7}),
     "platform.gpuPools[0].sharing.layout: 1g.10gb is not a MIG profile of H200 141GB (p5e.48xlarge); allowed: "
     "1g.18gb, 1g.35gb, 2g.35gb, 3g.71gb, 4g.71gb, 7g.141gb"),
    (mig("p5.48xlarge", "all-9g"),
     f"platform.gpuPools[0].sharing.layout: all-9g is not a MIG preset of {H100}; allowed: all-1g.10gb, "
     "all-1g.20gb, all-2g.20gb, all-3g.40gb, all-4g.40gb, all-7g.80gb, all-1g, all-2g, all-3g, all-4g, all-7g, "
     "all-balanced, or profile counts"),
    (mig("g6.xlarge", "all-1g"), "platform.gpuPools[0].sharing.mode: L4 (g6.xlarge) has no MIG; share it with "
                                 "time-slicing"),
    (mig("g5.48xlarge", {"1g.10gb": 7}), "platform.gpuPools[0].sharing.mode: A10G (g5.48xlarge) has no MIG; "
                                         "share it with time-slicing"),
    (mig("g6e.12xlarge", "all-balanced"), "platform.gpuPools[0].sharing.mode: L40S (g6e.12xlarge) has no MIG; "
                                          "share it with time-slicing"),
    (mig("p5.48xlarge", "all-balanced", strategy="single"),
     "platform.gpuPools[0].sharing.strategy: single advertises every MIG device as nvidia.com/gpu, so the layout "
     "must use one profile (got 1g.10gb, 2g.20gb, 3g.40gb); use strategy mixed"),
    ({"instanceTypes": ["p5.48xlarge"], "sharing": {"mode": "mig"}},
     "platform.gpuPools[0].sharing.layout: is required with mode mig: a preset such as all-1g, or profile counts"),
    ({"instanceTypes": ["p5.48xlarge"], "sharing": {"mode": "mig", "layout": "all-1g", "strategy": "double"}},
     "platform.gpuPools[0].sharing.strategy: must be one of single or mixed (got 'double')"),
    ({"instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing", "replicas": 1}},
     "platform.gpuPools[0].sharing.replicas: must be between 2 and 16 (got 1)"),
    ({"instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing", "replicas": 17}},
     "platform.gpuPools[0].sharing.replicas: must be between 2 and 16 (got 17)"),
    ({"instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing"}},
     "platform.gpuPools[0].sharing.replicas: is required with mode time-slicing (2 to 16)"),
    ({"instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing", "replicas": 4, "layout": "all-1g"}},
     "platform.gpuPools[0].sharing.layout: only applies to mode mig (mode is time-slicing)"),
    ({"instanceTypes": ["p5.48xlarge"], "sharing": {"mode": "mig", "layout": "all-1g", "replicas": 2}},
     "platform.gpuPools[0].sharing.replicas: only applies to mode time-slicing (mode is mig)"),
    ({"instanceTypes": ["g6.xlarge"], "sharing": {"mode": "fractional"}},
     "platform.gpuPools[0].sharing.mode: must be one of none, time-slicing or mig (got 'fractional')"),
    ({"instanceTypes": ["g6.xlarge"], "amiType": "BOTTLEROCKET_x86_64_NVIDIA",
      "sharing": {"mode": "time-slicing", "replicas": 4}},
     "platform.gpuPools[0].sharing.mode: time-slicing needs the GPU Operator's device plugin, which Bottlerocket "
     "replaces with its own; use amiType AL2023_x86_64_NVIDIA"),
]


@pytest.mark.parametrize("pool, message", BAD_SHARING, ids=[f"case{i}" for i in range(len(BAD_SHARING))])
def test_bad_sharing_config_is_rejected_naming_the_pool_and_what_is_allowed(pool, message):
    assert problems_of(**pool) == [message]


# --- the plan: cluster ------------------------------------------------------

def test_prod_cluster_is_private_encrypted_logged_and_uses_access_entries(prod_plan: Plan):
    cluster = prod_plan.of_type("eks:index:Cluster")[0]["inputs"]
    secrets_key = prod_plan.named("aws:kms/key:Key", "gpu-platform-prod-cluster-secrets")
    assert cluster["endpointPrivateAccess"] is True and cluster["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in cluster
    assert cluster["encryptionConfigKeyArn"] == secrets_key["outputs"]["arn"]
    assert secrets_key["inputs"]["enableKeyRotation"] is True and secrets_key.get("protect") is True
    assert cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert cluster["authenticationMode"] == "API"
    assert cluster["accessEntries"] == {"admin-0": {
        "principalArn": "arn:aws:iam::123456789012:role/platform-admins",
        "accessPolicies": {"cluster-admin": {
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            "accessScope": {"type": "cluster"}}}}}
    assert cluster["createOidcProvider"] is True and cluster["skipDefaultNodeGroup"] is True
    assert cluster["privateSubnetIds"] == prod_plan.outputs["privateSubnetIds"]
    assert "publicSubnetIds" not in cluster and "subnetIds" not in cluster
    assert cluster["version"] == "1.33"


def test_kubeconfig_is_a_secret_stack_output(prod_plan: Plan):
    kubeconfig = prod_plan.outputs["kubeconfig"]
    assert set(kubeconfig) == {"4dabf18193072939515e22adb298388d", "plaintext"}
    assert json.loads(json.loads(kubeconfig["plaintext"]))["kind"] == "Config"


def test_a_public_endpoint_only_where_config_allows_it():
    plan = Plan.of_config(with_changes(MINIMAL, {"cluster.endpointPublicAccess": True,
                                                 "cluster.publicAccessCidrs": ["203.0.113.0/24"]}))
    cluster = plan.of_type("eks:index:Cluster")[0]["inputs"]
    assert cluster["endpointPublicAccess"] is True and cluster["publicAccessCidrs"] == ["203.0.113.0/24"]


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
    assert group["labels"]["node.kubernetes.io/gpu-pool"] == pool
    assert group["labels"]["workload-type"] == "inference"
    assert group["taints"] == [{"key": "nvidia.com/gpu", "value": pool, "effect": "NO_SCHEDULE"}]
    assert group["tags"]["workload-type"] == "inference"
    assert advertised_tag(group) == advertised
    assert plan.outputs["gpuPools"][pool] == {
        "advertised": advertised, "nodeSelector": {"node.kubernetes.io/gpu-pool": pool},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": pool, "effect": "NoSchedule"}]}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_node_launch_template_requires_imdsv2_and_encrypts_and_tags_its_volumes(stack, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    groups = [g["inputs"] for g in plan.of_type(NODE_GROUP)]
    assert len(groups) == len(plan.of_type(LAUNCH_TEMPLATE)) >= 2
    for group in groups:
        template = template_of(plan, group)
        assert template["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required",
                                               "httpPutResponseHopLimit": 1, "instanceMetadataTags": "disabled"}
        [volume] = template["blockDeviceMappings"]
        assert volume["deviceName"] == "/dev/xvda" and volume["ebs"]["encrypted"] == "true"
        assert volume["ebs"]["volumeType"] == "gp3"
        assert {s["resourceType"] for s in template["tagSpecifications"]} == {"instance", "volume",
                                                                                "network-interface"}
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


def test_capacity_block_pool_targets_its_reservation():
    plan = Plan.of_config(config_with_pool(instanceTypes=["p5.48xlarge"], capacityType="CAPACITY_BLOCK",
                                           capacityReservationId="cr-0123456789abcdef0"))
    group = node_group(plan, "pool")
    template = template_of(plan, group)
    assert group["capacityType"] == "CAPACITY_BLOCK"
    assert template["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert template["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationId": "cr-0123456789abcdef0"}}


# --- the plan: the GPU Operator's configuration -----------------------------

def gpu_operator_release(plan: Plan) -> dict:
    return next(r["inputs"] for r in plan.of_type(RELEASE) if r["inputs"]["chart"] == "gpu-operator")


def configmap(plan: Plan, name: str) -> dict:
    return next(c["inputs"] for c in plan.of_type(CONFIGMAP) if c["inputs"]["metadata"]["name"] == name)


def test_device_plugin_configmap_has_one_entry_per_shared_pool_matching_it_exactly(prod_plan: Plan):
    data = {k: yaml.safe_load(v) for k, v in configmap(prod_plan, "device-plugin-config")["data"].items()}
    assert data == {
        "whole-gpus": {"version": "v1", "flags": {"migStrategy": "none"}},
        "h100-mig": {"version": "v1", "flags": {"migStrategy": "mixed"}},
        "l40s-shared": {"version": "v1", "flags": {"migStrategy": "none"}, "sharing": {"timeSlicing": {
            "renameByDefault": False, "failRequestsGreaterThanOne": True,
            "resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}}},
    }


def test_mig_configmap_keeps_all_disabled_and_holds_each_mig_pools_layout(prod_plan: Plan):
    cm = configmap(prod_plan, "mig-parted-config")
    assert list(cm["data"]) == ["config.yaml"]
    assert yaml.safe_load(cm["data"]["config.yaml"]) == {"version": "v1", "mig-configs": {
        "all-disabled": [{"devices": "all", "mig-enabled": False}],
        "h100-mig": [{"devices": "all", "mig-enabled": True, "mig-devices": {"1g.10gb": 7}}],
    }}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_pools_config_labels_name_existing_entries(stack, request):
    plan: Plan = request.getfixturevalue(f"{stack}_plan")
    plugin = configmap(plan, "device-plugin-config")["data"]
    migs = yaml.safe_load(configmap(plan, "mig-parted-config")["data"]["config.yaml"])["mig-configs"]
    for group in (g["inputs"] for g in plan.of_type(NODE_GROUP) if "node.kubernetes.io/gpu-pool" in
                  g["inputs"].get("labels", {})):
        labels = group["labels"]
        assert labels.get("nvidia.com/device-plugin.config", "whole-gpus") in plugin
        assert labels.get("nvidia.com/mig.config", "all-disabled") in migs


def test_operator_chart_is_pinned_and_uses_the_amis_driver_and_the_pool_configs(prod_plan: Plan):
    release = gpu_operator_release(prod_plan)
    assert (release["chart"], release["version"], release["namespace"]) == ("gpu-operator", "v26.7.0",
                                                                            "gpu-operator")
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


def test_without_observability_the_operator_makes_no_service_monitor():
    plan = Plan.of_config(with_changes(config_with_pool(instanceTypes=["g6.xlarge"]),
                                       {"observability.enabled": False}))
    assert gpu_operator_release(plan)["values"]["dcgmExporter"]["serviceMonitor"]["enabled"] is False


def test_no_gpu_pools_no_operator():
    charts = [r["inputs"]["chart"] for r in Plan.of_config(MINIMAL).of_type(RELEASE)]
    assert "gpu-operator" not in charts and charts  # observability charts stay


def test_platform_services_wait_for_the_system_nodes_they_run_on(prod_plan: Plan):
    system = next(g["urn"] for g in prod_plan.of_type(NODE_GROUP) if g["urn"].endswith("-cluster-system"))
    waiting = prod_plan.of_type(RELEASE) + prod_plan.of_type("aws:eks/addon:Addon")
    assert len(waiting) == 5
    for resource in waiting:
        assert system in resource["dependencies"], resource["urn"]


def test_service_accounts_wait_for_their_namespace(prod_plan: Plan):
    namespaces = {n["inputs"]["metadata"]["name"]: n["urn"] for n in prod_plan.of_type("kubernetes:core/v1:Namespace")}
    accounts = [a for a in prod_plan.of_type("kubernetes:core/v1:ServiceAccount")
                if a["inputs"]["metadata"]["namespace"] in namespaces]  # kube-system exists already
    assert len(accounts) == 2
    for account in accounts:
        assert namespaces[account["inputs"]["metadata"]["namespace"]] in account["dependencies"]


def test_mig_user_data_keeps_a_node_out_rather_than_join_in_the_wrong_mode(prod_plan: Plan):
    script = base64.b64decode(template_of(prod_plan, node_group(prod_plan, "h100-mig"))["userData"]).decode()
    assert "set -e" not in script  # a failed command must reach the decision below, not abort it
    assert script.index("systemctl mask --now kubelet") > script.index("nvidia-smi -mig 1")


# --- the Cluster Autoscaler ---------------------------------------------------

def test_every_pool_tells_the_autoscaler_what_an_empty_group_would_offer(prod_plan: Plan):
    tags: dict[str, dict[str, str]] = {}
    for t in prod_plan.of_type("aws:autoscaling/tag:Tag"):
        tags.setdefault(t["inputs"]["autoscalingGroupName"], {})[t["inputs"]["tag"]["key"]] = t["inputs"]["tag"]["value"]
        assert t["inputs"]["tag"]["propagateAtLaunch"] is False
    template = "k8s.io/cluster-autoscaler/node-template"
    by_pool = {group[f"{template}/label/node.kubernetes.io/gpu-pool"]: group for group in tags.values()}
    assert set(by_pool) == {"h100-mig", "l40s-shared"}
    assert by_pool["h100-mig"][f"{template}/resources/nvidia.com/mig-1g.10gb"] == "56"
    assert by_pool["l40s-shared"][f"{template}/resources/nvidia.com/gpu"] == "16"
    assert by_pool["h100-mig"][f"{template}/taint/nvidia.com/gpu"] == "h100-mig:NoSchedule"
    groups = {g["inputs"]["labels"].get("node.kubernetes.io/gpu-pool"): g for g in prod_plan.of_type(NODE_GROUP)}
    for pool, group in groups.items():
        if pool:
            assert group["inputs"]["ignoreScalingChanges"] is True  # the autoscaler owns desiredSize


def test_the_autoscaler_may_resize_only_this_clusters_groups(prod_plan: Plan):
    from tests.iam_eval import ALLOW, IMPLICIT_DENY, Request, decide
    role = prod_plan.named("aws:iam/role:Role", "gpu-platform-prod-autoscaler-role")
    [policy] = [p["inputs"]["policy"] for p in prod_plan.of_type("aws:iam/rolePolicy:RolePolicy")
                if p["inputs"]["role"] == role["id"]]
    group = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/eks-a"
    owned = {"aws:ResourceTag/k8s.io/cluster-autoscaler/gpu-platform-prod-cluster": "owned"}
    assert decide(policy, Request("autoscaling:SetDesiredCapacity", group, context=owned)) == ALLOW
    assert decide(policy, Request("autoscaling:SetDesiredCapacity", group)) == IMPLICIT_DENY
    other = {"aws:ResourceTag/k8s.io/cluster-autoscaler/another-cluster": "owned"}
    assert decide(policy, Request("autoscaling:TerminateInstanceInAutoScalingGroup", group, context=other)) \
        == IMPLICIT_DENY
    assert decide(policy, Request("eks:DescribeNodegroup", "*")) == ALLOW
    assert decide(policy, Request("autoscaling:DeleteAutoScalingGroup", group, context=owned)) == IMPLICIT_DENY
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:cluster-autoscaler" in trust.values()


def test_the_autoscaler_runs_the_release_of_the_cluster_version_and_discovers_its_groups(prod_plan: Plan):
    release = next(r["inputs"] for r in prod_plan.of_type(RELEASE) if r["inputs"]["chart"] == "cluster-autoscaler")
    values = release["values"]
    assert values["autoDiscovery"] == {"clusterName": "gpu-platform-prod-cluster"}
    assert values["image"] == {"tag": "v1.33.0"} and values["awsRegion"] == "us-east-1"
    assert values["rbac"]["serviceAccount"] == {"create": False, "name": "cluster-autoscaler"}


def test_without_the_autoscaler_pools_keep_their_configured_size():
    plan = Plan.of_config(with_changes(config_with_pool(instanceTypes=["g6.xlarge"]), {"cluster.autoscaler": False}))
    assert plan.of_type("aws:autoscaling/tag:Tag") == []
    assert node_group(plan, "pool")["ignoreScalingChanges"] is False
