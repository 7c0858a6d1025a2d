"""The EFA device plugin: advertises a node's EFA interfaces as `vpc.amazonaws.com/efa` to pods.

The AL2023 NVIDIA AMIs carry the EFA driver but not the plugin (EKS user guide, "device-management-efa";
awslabs/amazon-eks-ami templates/al2023 install-efa.sh). The chart limits itself to EFA instance types
by node affinity; it must also tolerate the GPU pools' taint, and runs only on nodes of EFA pools.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from gpu_platform.components import sharing
from gpu_platform.components.charts import chart_release
from gpu_platform.components.node_labels import EFA_LABEL

# aws/eks-charts stable/aws-efa-k8s-device-plugin (Chart.yaml version v0.5.30, appVersion v0.5.20).
CHART, CHART_VERSION, REPOSITORY = "aws-efa-k8s-device-plugin", "v0.5.30", "https://aws.github.io/eks-charts"
NAMESPACE = "kube-system"


def chart_values(pod_labels: dict[str, str]) -> dict:
    """Keys of the chart's values.yaml at the pinned version."""
    return {
        "nodeSelector": {EFA_LABEL: "true"},
        "tolerations": [sharing.GPU_TOLERATION],
        "additionalPodLabels": pod_labels,
    }


def efa_device_plugin(
    name: str, kubernetes: k8s.Provider, pod_labels: dict[str, str], opts: pulumi.ResourceOptions
) -> k8s.helm.v3.Release:
    return chart_release(
        name,
        CHART,
        CHART_VERSION,
        REPOSITORY,
        NAMESPACE,
        values=chart_values(pod_labels),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=kubernetes)),
    )
