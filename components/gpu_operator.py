"""The NVIDIA GPU Operator, configured once from every GPU pool.

One ConfigMap holds a device-plugin config per shared pool (time-slicing or MIG
strategy), another a mig-parted layout per MIG pool; each pool's node labels
pick its entries. On EKS AL2023 NVIDIA AMIs the driver and container toolkit
come with the image, so the operator's own are off (AWS EKS user guide, "ML
EKS-optimized AMIs"). Values keys are those of the chart's values.yaml at the
pinned version.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s
import yaml
from gpu_platform.components import gpu_metrics, sharing
from gpu_platform.components.charts import chart_release
from gpu_platform.components.config import GpuPoolConfig, SharingMode
from gpu_platform.components.node_labels import SYSTEM_LABEL

CHART = "gpu-operator"
CHART_VERSION = "v26.7.0"  # NVIDIA/gpu-operator tag v26.7.0 (2026-08-20)
CHART_REPOSITORY = "https://helm.ngc.nvidia.com/nvidia"
NAMESPACE = "gpu-operator"
DEVICE_PLUGIN_CONFIGMAP = "device-plugin-config"
MIG_CONFIGMAP = "mig-parted-config"
MIG_CONFIG_KEY = "config.yaml"  # the key the MIG manager reads
DCGM_CONFIGMAP = "dcgm-metrics"
DCGM_CONFIG_KEY = "dcgm-metrics.csv"  # the key the operator mounts as the exporter's counters file


def device_plugin_configs(pools: list[GpuPoolConfig]) -> dict[str, str]:
    """ConfigMap data: one YAML document per config name; `whole-gpus` serves pools without sharing."""
    configs = {sharing.WHOLE_GPUS: sharing.whole_gpus_config()}
    for pool in pools:
        config = sharing.device_plugin_config(pool)
        if config is not None:
            configs[sharing.config_entries(pool)[sharing.DEVICE_PLUGIN_CONFIG_LABEL]] = config
    return {name: yaml.safe_dump(config, sort_keys=False) for name, config in configs.items()}


def mig_parted_configs(pools: list[GpuPoolConfig]) -> dict[str, str]:
    """ConfigMap data: mig-parted's config.yaml, `all-disabled` plus one layout per MIG pool.

    A custom config replaces the operator's built-in one, and the operator labels MIG-capable
    nodes without a layout `all-disabled`, so that entry must stay.
    """
    configs = {sharing.MIG_DISABLED: [{"devices": "all", "mig-enabled": False}]}
    for pool in pools:
        layout = sharing.mig_parted_config(pool)
        if layout is not None:
            configs[sharing.config_entries(pool)[sharing.MIG_CONFIG_LABEL]] = layout
    return {MIG_CONFIG_KEY: yaml.safe_dump({"version": "v1", "mig-configs": configs}, sort_keys=False)}


def chart_values(service_monitor: bool, pod_labels: dict[str, str], time_sliced: bool = False) -> dict:
    """With a time-sliced pool, dcgm-exporter gives every pod sharing a GPU its own copy of the GPU's series
    (labelled pod and vgpu); without KUBERNETES_VIRTUAL_GPUS it names only one of them (NVIDIA/dcgm-exporter
    internal/pkg/transformation/kubernetes.go). Set through the chart's dcgmExporter.env."""
    exporter_env = [{"name": "KUBERNETES_VIRTUAL_GPUS", "value": "true"}] if time_sliced else []
    return {
        "driver": {"enabled": False},  # the AL2023 NVIDIA AMI ships the driver
        "toolkit": {"enabled": False},  # ... and the container toolkit (nodeadm sets the nvidia runtime)
        "devicePlugin": {"config": {"name": DEVICE_PLUGIN_CONFIGMAP, "default": sharing.WHOLE_GPUS}},
        "migManager": {"config": {"name": MIG_CONFIGMAP, "default": sharing.MIG_DISABLED}},
        # No cluster-wide strategy: it would override each pool's flags.migStrategy.
        "mig": {"strategy": ""},
        "dcgmExporter": {
            "enabled": True,
            "env": exporter_env,
            "config": {"name": DCGM_CONFIGMAP},  # the counters of gpu_metrics.py, ECC included
            "serviceMonitor": {
                "enabled": service_monitor,
                "interval": "15s",
                # pod/namespace/container name the GPU's workload (set by the exporter only when a pod
                # holds the GPU), never the exporter pod: keep the exporter's, drop the target's own.
                "honorLabels": True,
                "relabelings": [
                    {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"},
                    {"regex": "pod|namespace|container", "action": "labeldrop"},
                ],
            },
        },
        "daemonsets": {
            "tolerations": [sharing.GPU_TOLERATION],
            "labels": pod_labels,
            "priorityClassName": "system-node-critical",
        },
        "node-feature-discovery": {"worker": {"tolerations": [sharing.GPU_TOLERATION]}},
        "operator": {"nodeSelector": {"kubernetes.io/os": "linux", SYSTEM_LABEL: "true"}},
    }


class GpuOperator(pulumi.ComponentResource):
    """The GPU Operator Helm release with its device-plugin and MIG ConfigMaps."""

    namespace: str
    device_plugin_data: dict[str, str]
    mig_data: dict[str, str]
    configmaps: list[k8s.core.v1.ConfigMap]  # what node labels name: nodes are relabelled after these change

    def __init__(
        self,
        name: str,
        pools: list[GpuPoolConfig],
        kubernetes: k8s.Provider,
        service_monitor: bool,
        pod_labels: dict[str, str],
        after: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:GpuOperator", name, None, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=kubernetes)
        self.namespace = NAMESPACE
        namespace = k8s.core.v1.Namespace(
            name,
            metadata={
                "name": NAMESPACE,
                "labels": {
                    **pod_labels,
                    # The operator's daemonsets are privileged by nature (device plugin, DCGM, MIG manager).
                    "pod-security.kubernetes.io/enforce": "privileged",
                },
            },
            opts=on_cluster,
        )
        self.device_plugin_data = device_plugin_configs(pools)
        self.mig_data = mig_parted_configs(pools)
        self.configmaps = configmaps = [
            k8s.core.v1.ConfigMap(
                f"{name}-{cm}",
                metadata={"name": cm, "namespace": NAMESPACE, "labels": pod_labels},
                data=data,
                opts=pulumi.ResourceOptions(parent=self, provider=kubernetes, depends_on=[namespace]),
            )
            for cm, data in (
                (DEVICE_PLUGIN_CONFIGMAP, self.device_plugin_data),
                (MIG_CONFIGMAP, self.mig_data),
                (DCGM_CONFIGMAP, {DCGM_CONFIG_KEY: gpu_metrics.counters_csv()}),
            )
        ]
        chart_release(
            name,
            CHART,
            CHART_VERSION,
            CHART_REPOSITORY,
            NAMESPACE,
            values=chart_values(
                service_monitor, pod_labels, time_sliced=any(p.sharing.mode == SharingMode.TIME_SLICING for p in pools)
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=kubernetes, depends_on=[*configmaps, *after]),
        )
        # `after` names what must run first: the monitoring CRDs and the nodes the operator is pinned to.
        self.register_outputs({"namespace": NAMESPACE})
