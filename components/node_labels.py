"""Node labels the platform owns, and the label keys EKS refuses on managed node groups.

The EKS node group API (CreateNodegroup, UpdateNodegroupConfig) refuses any label key whose
prefix contains `kubernetes.io/`, `k8s.io/` or `eks.amazonaws.com/` with "Label cannot contain
reserved prefixes" (InvalidParameterException; aws/containers-roadmap#1451, eksctl-io/eksctl#4007,
eksctl-io/eksctl#6947). That is stricter than kubelet's NodeRestriction rule, so even
`node.kubernetes.io/...` is refused: the platform's own labels live under its own domain.
"""

from __future__ import annotations

import re

PLATFORM_DOMAIN = "gpu-platform.io"
POOL_LABEL = f"{PLATFORM_DOMAIN}/pool"  # a GPU pool's nodes: the pool's name
SYSTEM_LABEL = f"{PLATFORM_DOMAIN}/system"  # the system pool's nodes: "true"
EFA_LABEL = f"{PLATFORM_DOMAIN}/efa"  # nodes with EFA interfaces: "true" (the EFA device plugin runs there)
WORKLOAD_LABEL = "workload-type"
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"  # the Cluster Autoscaler's AWS GPU label (see catalog.py)
NVIDIA_PREFIX = "nvidia.com/"  # the GPU Operator's node labels (config selection, deploy switches)
PLATFORM_OWNED = (POOL_LABEL, SYSTEM_LABEL, EFA_LABEL, WORKLOAD_LABEL, ACCELERATOR_LABEL)
RESERVED_PREFIX_PARTS = ("kubernetes.io/", "k8s.io/", "eks.amazonaws.com/")

# Kubernetes label keys: an optional DNS-subdomain prefix and '/', then a name of at most 63
# characters (apimachinery validation.IsQualifiedName).
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_QUALIFIED = re.compile(rf"(?:(?P<prefix>{_PREFIX})/)?{_NAME}")


def label_value_problem(value: str) -> str | None:
    """Why Kubernetes refuses a label value (apimachinery validation.IsValidLabelValue), or None."""
    if value == "" or re.fullmatch(_NAME, value):
        return None
    return "must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"


def reserved_part(key: str) -> str | None:
    """The reserved part EKS finds in a label key's prefix (`kubernetes.io/`), or None when EKS accepts it."""
    prefix = key.rpartition("/")[0] + "/" if "/" in key else ""
    return next((part for part in RESERVED_PREFIX_PARTS if part in prefix), None)


def label_key_problem(key: str) -> str | None:
    """Why a managed node group cannot carry this label key, or None when it can."""
    match = _QUALIFIED.fullmatch(key)
    if not match or len(match.group("prefix") or "") > 253:
        return (
            f"{key!r} is not a Kubernetes label key: an optional DNS prefix and '/', then 1 to 63 letters, "
            "digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    part = reserved_part(key)
    if part is not None:
        return (
            f"{key!r} has a prefix EKS refuses on node groups ({', '.join(RESERVED_PREFIX_PARTS)}); "
            f"use a domain of your own, such as {PLATFORM_DOMAIN}/{key.rpartition('/')[2]}"
        )
    return None


def kube_state_metrics_label(key: str) -> str:
    """The name kube-state-metrics gives a node label in `kube_node_labels` (`label_<sanitized key>`)."""
    return "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)


POOL_METRIC_LABEL = kube_state_metrics_label(POOL_LABEL)  # label_gpu_platform_io_pool
