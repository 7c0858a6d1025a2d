"""Which metrics exist and which labels they carry, from the exporters' documentation, so that
tests can check every query against what Prometheus will really have.

- DCGM: the fields dcgm-exporter knows (NVIDIA/dcgm-exporter etc/dcp-metrics-included.csv, enabled
  and commented lines alike); which of them are exported is read from the plan (the counters
  ConfigMap the GPU Operator mounts). Series labels: render_metrics.go (gpu, UUID, pci_bus_id,
  device, modelName, hostname, MIG's GPU_I_PROFILE/GPU_I_ID) and pod attribution (pod, namespace,
  container).
- kube-state-metrics: docs/metrics (pod and node metrics used here), with `label_<sanitized key>`
  for each allow-listed label, read from the plan's chart values.
- Scrape labels: job, instance, endpoint, service, and whatever the ServiceMonitor relabels.
"""

from __future__ import annotations

import re

import promql_parser

from tests.planning import Plan

DCGM_EXPORTER_FIELDS = {
    "DCGM_FI_DEV_SM_CLOCK",
    "DCGM_FI_DEV_MEM_CLOCK",
    "DCGM_FI_DEV_MEMORY_TEMP",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_PROF_PCIE_TX_BYTES",
    "DCGM_FI_PROF_PCIE_RX_BYTES",
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_MEM_COPY_UTIL",
    "DCGM_FI_DEV_ENC_UTIL",
    "DCGM_FI_DEV_DEC_UTIL",
    "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_DEV_POWER_VIOLATION",
    "DCGM_FI_DEV_THERMAL_VIOLATION",
    "DCGM_FI_DEV_SYNC_BOOST_VIOLATION",
    "DCGM_FI_DEV_BOARD_LIMIT_VIOLATION",
    "DCGM_FI_DEV_LOW_UTIL_VIOLATION",
    "DCGM_FI_DEV_RELIABILITY_VIOLATION",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_RESERVED",
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
    "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL",
    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL",
    "DCGM_FI_DEV_RETIRED_SBE",
    "DCGM_FI_DEV_RETIRED_DBE",
    "DCGM_FI_DEV_RETIRED_PENDING",
    "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL",
    "DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL",
    "DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL",
    "DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL",
    "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
    "DCGM_FI_DEV_NVLINK_BANDWIDTH_L0",
    "DCGM_FI_DEV_VGPU_LICENSE_STATUS",
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
    "DCGM_FI_DEV_ROW_REMAP_FAILURE",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "DCGM_FI_PROF_SM_ACTIVE",
    "DCGM_FI_PROF_SM_OCCUPANCY",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    "DCGM_FI_PROF_DRAM_ACTIVE",
    "DCGM_FI_PROF_PIPE_FP64_ACTIVE",
    "DCGM_FI_PROF_PIPE_FP32_ACTIVE",
    "DCGM_FI_PROF_PIPE_FP16_ACTIVE",
}
# `vgpu`: the replica index of a shared GPU, with KUBERNETES_VIRTUAL_GPUS (internal/pkg/transformation/kubernetes.go).
DCGM_LABELS = {
    "gpu",
    "UUID",
    "pci_bus_id",
    "device",
    "modelName",
    "hostname",
    "GPU_I_PROFILE",
    "GPU_I_ID",
    "DCGM_FI_DRIVER_VERSION",
    "pod",
    "namespace",
    "container",
    "vgpu",
    "pod_uid",
}
SCRAPE_LABELS = {"job", "instance", "endpoint", "service"}
KSM_METRICS = {
    "kube_pod_container_resource_requests": {"namespace", "pod", "uid", "container", "node", "resource", "unit"},
    "kube_pod_status_phase": {"namespace", "pod", "uid", "phase"},
    "kube_pod_status_unschedulable": {"namespace", "pod", "uid"},
    "kube_pod_labels": {"namespace", "pod", "uid"},
    "kube_node_labels": {"node"},
    "kube_node_status_allocatable": {"node", "resource", "unit"},
    "kube_node_status_capacity": {"node", "resource", "unit"},
}
COST_LABELS = {"label_cost_center", "label_product", "label_environment", "label_workload_type"}


def exported_dcgm_counters(plan: Plan) -> set[str]:
    csv = next(
        c["inputs"]["data"]["dcgm-metrics.csv"]
        for c in plan.of_type("kubernetes:core/v1:ConfigMap")
        if c["inputs"]["metadata"]["name"] == "dcgm-metrics"
    )
    return {line.split(",")[0].strip() for line in csv.splitlines() if line and not line.startswith("#")}


def _allowlisted(plan: Plan) -> dict[str, set[str]]:
    """`label_<key>` names kube-state-metrics adds per resource kind, from the plan's chart values."""
    values = next(
        r["inputs"]["values"]
        for r in plan.of_type("kubernetes:helm.sh/v3:Release")
        if r["inputs"]["chart"] == "kube-prometheus-stack"
    )
    found: dict[str, set[str]] = {}
    for entry in values["kube-state-metrics"]["metricLabelsAllowlist"]:
        kind, keys = re.fullmatch(r"(\w+)=\[(.*)\]", entry).groups()
        found[kind] = {"label_" + re.sub(r"[^a-zA-Z0-9_]", "_", k) for k in keys.split(",")}
    return found


def known_labels(plan: Plan, recorded: set[str]) -> dict[str, set[str]]:
    """Every metric Prometheus will have for this plan, with the labels its series carry."""
    allow = _allowlisted(plan)
    exported = exported_dcgm_counters(plan)
    relabelings = next(
        r["inputs"]["values"]
        for r in plan.of_type("kubernetes:helm.sh/v3:Release")
        if r["inputs"]["chart"] == "gpu-operator"
    )["dcgmExporter"]["serviceMonitor"]["relabelings"]
    relabelled = {r["targetLabel"] for r in relabelings if r.get("action") == "replace"}
    labels = {name: DCGM_LABELS | SCRAPE_LABELS | relabelled for name in exported}
    labels |= {name: keys | SCRAPE_LABELS for name, keys in KSM_METRICS.items()}
    labels["kube_pod_labels"] |= allow["pods"]
    labels["kube_node_labels"] |= allow["nodes"]
    labels["up"] = SCRAPE_LABELS | relabelled  # the target's own pod/namespace/container are dropped
    labels |= {name: {"namespace", "pod"} | COST_LABELS for name in recorded}
    return labels


def _walk(node, metrics: list[str], labels: list[str]) -> None:
    if node is None:
        return
    if isinstance(node, promql_parser.VectorSelector):
        if node.name:
            metrics.append(node.name)
        labels.extend(m.name for m in node.matchers.matchers if m.name != "__name__")
    elif isinstance(node, promql_parser.MatrixSelector):
        _walk(node.vector_selector, metrics, labels)
    elif isinstance(node, promql_parser.AggregateExpr):
        if node.modifier is not None:
            labels.extend(node.modifier.labels)
        _walk(node.expr, metrics, labels)
        _walk(node.param, metrics, labels)
    elif isinstance(node, promql_parser.BinaryExpr):
        if node.modifier is not None:
            if node.modifier.matching is not None:
                labels.extend(node.modifier.matching.labels)
            labels.extend(node.modifier.group_labels or [])
        _walk(node.lhs, metrics, labels)
        _walk(node.rhs, metrics, labels)
    elif isinstance(node, promql_parser.Call):
        for arg in node.args:
            _walk(arg, metrics, labels)
    elif isinstance(node, (promql_parser.ParenExpr, promql_parser.SubqueryExpr, promql_parser.UnaryExpr)):
        _walk(node.expr, metrics, labels)


def as_promql(grafana_expr: str) -> str:
    """A dashboard query with Grafana's variables filled in, so a PromQL parser can read it."""
    return grafana_expr.replace("$__range", "1h").replace('"$pool"', '".*"').replace('"$node"', '".*"')


def unknown_metrics_and_labels(expr: str, known: dict[str, set[str]]) -> list[str]:
    """Problems with a query: metrics nobody exports, labels none of its metrics carry."""
    metrics: list[str] = []
    labels: list[str] = []
    _walk(promql_parser.parse(expr), metrics, labels)
    problems = [f"metric {m}" for m in sorted(set(metrics)) if m not in known]
    carried = set().union(*(known.get(m, set()) for m in metrics))
    return problems + [f"label {name}" for name in sorted(set(labels)) if name not in carried]
