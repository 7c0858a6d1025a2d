"""Kubernetes versions on EKS, upgrades that reach the nodes, managed add-ons and node repair."""

from __future__ import annotations

import datetime
import json

import pytest
from gpu_platform.components import catalog
from gpu_platform.components.config import ConfigError, load_platform_config
from gpu_platform.offline import plan as offline_plan

from tests.planning import MINIMAL, PROJECT, Plan, with_changes

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"


def problems(config: dict, today: datetime.date) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_platform_config(config, PROJECT, "dev", today=today)
    return raised.value.problems


# --- the EKS calendar -----------------------------------------------------------


def test_the_calendar_is_the_one_aws_publishes():
    # docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, release calendar (1.35: secondary sources).
    rows = {
        m: (str(r.released), str(r.end_of_standard), str(r.end_of_extended)) for m, r in catalog.EKS_RELEASES.items()
    }
    assert rows == {
        "1.32": ("2025-01-23", "2026-03-23", "2027-03-23"),
        "1.33": ("2025-05-29", "2026-07-29", "2027-07-29"),
        "1.34": ("2025-10-02", "2026-12-02", "2027-12-02"),
        "1.35": ("2026-01-27", "2027-03-27", "2028-03-27"),
    }
    for release in catalog.EKS_RELEASES.values():  # 14 months of standard support, then 12 of extended
        assert release.end_of_extended.replace(year=release.end_of_extended.year - 1) == release.end_of_standard


def test_the_default_version_is_in_standard_support_today_and_the_stacks_use_it():
    today = datetime.datetime.now(datetime.UTC).date()
    assert catalog.EKS_RELEASES[catalog.DEFAULT_KUBERNETES_VERSION].in_standard_support(today)
    config = load_platform_config(MINIMAL, PROJECT, "dev")
    assert config.cluster.kubernetes_version == catalog.DEFAULT_KUBERNETES_VERSION
    assert config.cluster.support_type == "STANDARD"


def test_a_version_past_standard_support_needs_the_extended_support_opt_in():
    config = with_changes(MINIMAL, {"cluster.kubernetesVersion": "1.33"})
    assert problems(config, datetime.date(2026, 7, 29)) == [
        (
            "platform.cluster.kubernetesVersion: 1.33 left EKS standard support on 2026-07-29 and costs extended-support "
            "rates ($0.60 instead of $0.10 per cluster-hour); upgrade to 1.34 or 1.35, or set "
            "cluster.extendedSupport: true to pay them"
        )
    ]
    load_platform_config(config, PROJECT, "dev", today=datetime.date(2026, 7, 28))  # its last standard day
    opted_in = load_platform_config(
        with_changes(config, {"cluster.extendedSupport": True}), PROJECT, "dev", today=datetime.date(2026, 11, 25)
    )
    assert opted_in.cluster.support_type == "EXTENDED"


def test_a_version_past_extended_support_is_refused_even_with_the_opt_in():
    config = with_changes(MINIMAL, {"cluster.kubernetesVersion": "1.32", "cluster.extendedSupport": True})
    assert problems(config, datetime.date(2027, 3, 23)) == [
        "platform.cluster.kubernetesVersion: 1.32 left EKS extended support on 2027-03-23; use 1.35"
    ]


def test_when_the_catalog_knows_no_newer_version_the_message_says_where_to_add_one():
    config = with_changes(MINIMAL, {"cluster.kubernetesVersion": "1.35"})
    assert problems(config, datetime.date(2027, 3, 27)) == [
        (
            "platform.cluster.kubernetesVersion: 1.35 left EKS standard support on 2027-03-27 and costs extended-support "
            "rates ($0.60 instead of $0.10 per cluster-hour); upgrade to a newer version, once components/catalog.py "
            "knows it (EKS_RELEASES, CLUSTER_AUTOSCALER), or set cluster.extendedSupport: true to pay them"
        )
    ]


def test_the_plan_summary_warns_in_the_last_two_months_of_standard_support():
    cluster = {"version": "1.34", "upgradePolicy": {"supportType": "STANDARD"}}
    assert offline_plan.kubernetes_support(cluster, datetime.date(2026, 11, 25)).endswith(
        "then EKS upgrades the control plane; 7 days left: plan the upgrade"
    )
    assert "days left" not in offline_plan.kubernetes_support(cluster, datetime.date(2026, 10, 1))


def test_the_plan_summary_says_what_the_version_costs():
    standard = {"version": "1.35", "upgradePolicy": {"supportType": "STANDARD"}}
    assert offline_plan.kubernetes_support(standard, datetime.date(2026, 11, 25)) == (
        "Kubernetes 1.35: EKS standard support until 2027-03-27 ($0.10 per cluster-hour), then EKS upgrades the "
        "control plane"
    )
    extended = {"version": "1.33", "upgradePolicy": {"supportType": "EXTENDED"}}
    assert offline_plan.kubernetes_support(extended, datetime.date(2026, 11, 25)) == (
        "Kubernetes 1.33: EKS EXTENDED support since 2026-07-29, until 2027-07-29: $0.60 per cluster-hour, "
        "$365 a month more than a version in standard support"
    )


# --- upgrades reach the nodes -------------------------------------------------------


@pytest.fixture(scope="module")
def older_plan() -> Plan:
    """A stack on 1.34 with a GPU pool: what `pulumi up` sees before a version bump."""
    return Plan.of_config(
        with_changes(
            MINIMAL, {"cluster.kubernetesVersion": "1.34", "gpuPools": [{"name": "l4", "instanceTypes": ["g6.xlarge"]}]}
        )
    )


def test_every_node_group_runs_the_control_planes_version(older_plan: Plan, prod_plan: Plan):
    for plan, version in ((older_plan, "1.34"), (prod_plan, "1.35")):
        assert plan.of_type("aws:eks/cluster:Cluster")[0]["inputs"]["version"] == version
        cluster = plan.of_type("eks:index:Cluster")[0]
        groups = plan.of_type(NODE_GROUP)
        assert len(groups) >= 2
        for group in groups:
            assert group["inputs"]["version"] == version, group["urn"]
            assert cluster["urn"] in group["dependencies"]  # after the control plane and its add-ons


def test_add_ons_follow_the_version_and_wait_for_nodes(older_plan: Plan):
    system = next(g["urn"] for g in older_plan.of_type(NODE_GROUP) if g["urn"].endswith("-system"))
    addons = {a["inputs"]["addonName"]: a for a in older_plan.of_type(ADDON) if "eks:index:Cluster" not in a["urn"]}
    assert set(addons) == {"coredns", "eks-node-monitoring-agent", "aws-ebs-csi-driver"}
    for addon in addons.values():
        assert system in addon["dependencies"], addon["urn"]  # CoreDNS without nodes times out DEGRADED
        # the newest version for the cluster's Kubernetes version (the offline cloud answers per version)
        assert addon["inputs"]["addonVersion"] == "v1.34.0-eksbuild.1"
        assert addon["inputs"]["resolveConflictsOnUpdate"] == "OVERWRITE"
    # pulumi-eks makes vpc-cni and kube-proxy managed add-ons (cluster.ts), at the newest version for the minor.
    theirs = {
        a["inputs"]["addonName"]: a["inputs"] for a in older_plan.of_type(ADDON) if "eks:index:Cluster" in a["urn"]
    }
    assert set(theirs) == {"kube-proxy", "vpc-cni"}
    assert {a["addonVersion"] for a in theirs.values()} == {"v1.34.0-eksbuild.1"}


# --- node repair ------------------------------------------------------------------------


def test_every_node_group_is_repaired_and_gpu_faults_are_detected(prod_plan: Plan, dev_plan: Plan):
    for plan in (dev_plan, prod_plan):
        for group in plan.of_type(NODE_GROUP):
            assert group["inputs"]["nodeRepairConfig"] == {"enabled": True}, group["urn"]
        # Node repair acts on GPU conditions only with the node monitoring agent (EKS user guide, node health),
        # and the agent's DCGM DaemonSet tolerates no taint unless told (its chart: dcgmAgent.tolerations []).
        agent = next(
            a["inputs"] for a in plan.of_type(ADDON) if a["inputs"]["addonName"] == "eks-node-monitoring-agent"
        )
        assert json.loads(agent["configurationValues"]) == {
            "dcgmAgent": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}
        }


def test_node_groups_go_before_the_node_roles_policies_on_destroy(prod_plan: Plan):
    attachments = {
        a["urn"]
        for t in ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/rolePolicy:RolePolicy")
        for a in prod_plan.of_type(t)
        if "-cluster-nodes-" in a["urn"]
    }
    assert len(attachments) == 4  # three managed policies and the Session Manager policy
    for group in prod_plan.of_type(NODE_GROUP):
        assert attachments <= set(group["dependencies"]), group["urn"]


def test_the_control_plane_prices_come_from_the_price_table_and_a_table_without_them_is_named(monkeypatch):
    assert catalog.eks_control_plane_usd_per_hour() == (0.10, 0.60)  # EKS pricing: standard and extended support
    full = catalog._price_table()
    for missing in ("eks-cluster-hour", "eks-cluster-extended-hour"):

        class Without:
            def service(self, item, region, missing=missing):
                return None if item == missing else full.service(item, region)

        monkeypatch.setattr(catalog, "_price_table", Without)
        with pytest.raises(LookupError) as raised:
            catalog.eks_control_plane_usd_per_hour()
        assert str(raised.value) == (
            "policies/prices.json has no EKS control-plane price (eks-cluster-hour, ...-extended-hour)"
        )
