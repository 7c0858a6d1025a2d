"""How a pool's GPUs are shared: what the device plugin and MIG manager are told, and what the
scheduler then sees. Pure functions of a validated GpuPoolConfig, so they are tested without Pulumi.

Formats: NVIDIA/k8s-device-plugin (config v1) and NVIDIA/mig-parted (config v1); see
../shared/reference/gpu-facts.md.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gpu_platform.components.config import AmiType, GpuPoolConfig, MigStrategy, SharingMode
from gpu_platform.components.node_labels import ACCELERATOR_LABEL, EFA_LABEL, POOL_LABEL, WORKLOAD_LABEL

GPU_RESOURCE = "nvidia.com/gpu"
EFA_RESOURCE = "vpc.amazonaws.com/efa"  # what the EFA device plugin advertises (EKS user guide, node-efa)
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
GPU_TAINT_KEY = "nvidia.com/gpu"
# What node agents (device plugins, monitoring) need to run on every GPU pool, whatever its taint's value.
GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}
# The device-plugin entry for nodes without a config label: whole GPUs, MIG devices not advertised.
WHOLE_GPUS = "whole-gpus"
# mig-parted entry the GPU Operator labels MIG-capable nodes with when no layout is asked for.
MIG_DISABLED = "all-disabled"
# AWS tag on the node group that records what one node offers, for reviewers and policies.
ADVERTISED_TAG = "gpu-platform/advertised-resources"


def advertised(pool: GpuPoolConfig) -> dict[str, int]:
    """Resources one node of the pool advertises to the scheduler, and how many of each."""
    return {**_advertised_gpus(pool), **({EFA_RESOURCE: pool.efa_interfaces} if pool.efa else {})}


def _advertised_gpus(pool: GpuPoolConfig) -> dict[str, int]:
    gpus = pool.gpus_per_node
    sharing = pool.sharing
    if sharing.mode == SharingMode.TIME_SLICING:
        return {GPU_RESOURCE: gpus * sharing.replicas}
    if sharing.mode == SharingMode.MIG:
        layout = pool.mig_layout()
        if sharing.mig_strategy == MigStrategy.SINGLE:
            return {GPU_RESOURCE: gpus * sum(layout.values())}
        return {f"nvidia.com/mig-{profile}": gpus * count for profile, count in sorted(layout.items())}
    return {GPU_RESOURCE: gpus}


def offers_whole_gpu_resource(pool: GpuPoolConfig) -> bool:
    """Whether the pool's nodes advertise nvidia.com/gpu (every mode but MIG mixed)."""
    return GPU_RESOURCE in _advertised_gpus(pool)


def autoscaler_resources(pool: GpuPoolConfig) -> dict[str, int]:
    """What the Cluster Autoscaler must assume an empty pool's node offers.

    It starts from the instance type's GPU count as nvidia.com/gpu and lets node-template resource tags
    override it (cluster-autoscaler cloudprovider/aws/aws_manager.go buildNodeFromTemplate): a MIG mixed
    pool never offers nvidia.com/gpu, so it is said to offer 0, or a pod asking for whole GPUs would scale
    up a pool that can never run it.
    """
    zero = {} if offers_whole_gpu_resource(pool) else {GPU_RESOURCE: 0}
    return {**zero, **advertised(pool)}


def advertised_tag(pool: GpuPoolConfig) -> str:
    """`advertised` as an AWS tag value (space-separated name=count; tag values allow no commas)."""
    return " ".join(f"{name}={count}" for name, count in advertised(pool).items())


def whole_gpus_config() -> dict[str, Any]:
    return {"version": "v1", "flags": {"migStrategy": "none"}}


def device_plugin_config(pool: GpuPoolConfig) -> dict[str, Any] | None:
    """The pool's entry in the device plugin's ConfigMap; None where the default entry serves."""
    sharing = pool.sharing
    if sharing.mode == SharingMode.TIME_SLICING:
        return {
            "version": "v1",
            "flags": {"migStrategy": "none"},
            "sharing": {
                "timeSlicing": {
                    "renameByDefault": False,
                    "failRequestsGreaterThanOne": sharing.fails_requests_greater_than_one,
                    "resources": [{"name": GPU_RESOURCE, "replicas": sharing.replicas}],
                }
            },
        }
    if sharing.mode == SharingMode.MIG:
        return {"version": "v1", "flags": {"migStrategy": sharing.mig_strategy.value}}
    return None


def mig_parted_config(pool: GpuPoolConfig) -> list[dict[str, Any]] | None:
    """The pool's entry in the MIG manager's mig-parted config; None for pools without MIG."""
    if pool.sharing.mode != SharingMode.MIG:
        return None
    return [{"devices": "all", "mig-enabled": True, "mig-devices": dict(sorted(pool.mig_layout().items()))}]


def config_name(pool: GpuPoolConfig, content: Any) -> str:
    """An entry name that changes whenever the entry does: `<pool>-<8 hex of its content>`.

    The MIG manager applies a layout only when the value of a node's nvidia.com/mig.config label changes
    (NVIDIA/mig-parted cmd/nvidia-mig-manager main.go: `oldLabel != newLabel`) and never watches its
    ConfigMap, so an entry rewritten under the same name would never reach a running node. At most 63
    characters, as a label value must be.
    """
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:8]
    return f"{pool.name[:54]}-{digest}"


def config_entries(pool: GpuPoolConfig) -> dict[str, str]:
    """The node label -> entry name of each config the pool's node agents read (none for whole GPUs)."""
    entries = {}
    plugin = device_plugin_config(pool)
    if plugin is not None:
        entries[DEVICE_PLUGIN_CONFIG_LABEL] = config_name(pool, plugin)
    layout = mig_parted_config(pool)
    if layout is not None:
        entries[MIG_CONFIG_LABEL] = config_name(pool, layout)
    return entries


def node_labels(pool: GpuPoolConfig) -> dict[str, str]:
    """Labels of the pool's nodes: where pods target it, and which config entries its node agents use."""
    labels = {**pool.node_labels, POOL_LABEL: pool.name, WORKLOAD_LABEL: pool.workload_type.value}
    if offers_whole_gpu_resource(pool):
        # The autoscaler treats a node with this label and no nvidia.com/gpu yet as still starting, so it does
        # not scale out again while the device plugin starts. A MIG mixed node never advertises nvidia.com/gpu:
        # with the label it would look unready for ever (cluster-autoscaler gpu_processor.go).
        labels[ACCELERATOR_LABEL] = pool.gpu.accelerator
    if pool.efa:
        labels[EFA_LABEL] = "true"
    labels |= config_entries(pool)
    if pool.ami_type == AmiType.BOTTLEROCKET_NVIDIA:
        # Bottlerocket ships its own device plugin: the operator must not deploy a second one.
        labels["nvidia.com/gpu.deploy.device-plugin"] = "false"
        labels["nvidia.com/gpu.deploy.mig-manager"] = "false"
    return labels


def taint(pool: GpuPoolConfig) -> dict[str, str]:
    """The pool's taint, in Kubernetes form: only pods that tolerate this pool land on it."""
    return {"key": GPU_TAINT_KEY, "value": pool.name, "effect": "NoSchedule"}


def pod_placement(pool: GpuPoolConfig) -> dict[str, Any]:
    """What a pod spec needs to run on this pool (and only there)."""
    t = taint(pool)
    return {
        "nodeSelector": {POOL_LABEL: pool.name},
        "tolerations": [{"key": t["key"], "operator": "Equal", "value": t["value"], "effect": t["effect"]}],
    }
