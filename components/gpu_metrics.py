"""GPU telemetry as data: which DCGM counters are exported, the recording rules that attribute
GPUs to whoever pays for them, and the alerts that wake someone up (each with its runbook).

Sources: NVIDIA/dcgm-exporter etc/dcp-metrics-included.csv (field names, types; ECC counters
are off there, on here); kube-state-metrics pod and node metrics, with the cost labels and the
pool label allow-listed (see observability.py). Every series a GPU pod uses carries `namespace`
and `pod` (DCGM pod attribution, honoured by the ServiceMonitor) and `node` (relabelled from the
exporter pod's node).
"""

from __future__ import annotations

from dataclasses import dataclass

from gpu_platform.components.node_labels import POOL_METRIC_LABEL

# (DCGM field, Prometheus type, help): the dcgm-exporter counters CSV format.
DCGM_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ)."),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %)."),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB)."),
    ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "counter", "Total number of single-bit volatile ECC errors."),
    ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Total number of double-bit volatile ECC errors."),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for uncorrectable errors."),
    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for correctable errors."),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed."),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active."),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge", "Ratio of cycles the device memory interface is active."),
)


def counters_csv() -> str:
    return "# Exported by dcgm-exporter for gpu-platform (format: field, type, help)\n" + "".join(
        f"{name}, {kind}, {text}\n" for name, kind, text in DCGM_COUNTERS
    )


DCGM_JOB = "nvidia-dcgm-exporter"  # the GPU Operator's DCGM exporter Service, hence the scrape job
GPU_REQUESTS = 'kube_pod_container_resource_requests{resource=~"nvidia_com_gpu|nvidia_com_mig_.+"}'
COST_LABELS = "label_cost_center, label_product, label_environment, label_workload_type"
IDLE_ACTIVITY = 0.05  # below 5% graphics-engine activity a GPU does no useful work
HOT_CELSIUS = 85
FRAMEBUFFER_FULL = 0.95


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    duration: str
    severity: str
    summary: str
    runbook: str  # what it means and the first response


# Labels dcgm-exporter adds per pod. With KUBERNETES_VIRTUAL_GPUS every pod sharing a device gets a copy of
# the device's series, and DCGM_FI_DEV_GPU_UTIL / DCGM_FI_DEV_FB_USED also get per-process series per pod,
# labelled pod_uid, beside the device's own (NVIDIA/dcgm-exporter internal/pkg/transformation/kubernetes.go,
# process_metrics.go). Device-level truth drops the per-process series and folds the copies.
POD_ATTRIBUTION = "pod, namespace, container, vgpu, pod_uid"


def device(metric: str, selector: str = "") -> str:
    """One series per GPU (or MIG instance), however many pods share it."""
    matchers = ", ".join(m for m in ('pod_uid=""', selector) if m)
    return f"max without ({POD_ATTRIBUTION}) ({metric}{{{matchers}}})"


# What one unit of a GPU resource is, in physical GPUs. A MIG instance of g compute slices is g/7 of its
# GPU; an nvidia.com/gpu unit is the node's GPUs over what it advertises: 1 for a whole GPU, 1/replicas for
# a time-sliced one, 1/instances under MIG strategy single. Physical GPUs are counted from DCGM (one UUID
# each, however many pods share it).
MIG_SHARE = " or ".join(
    f'kube_pod_container_resource_requests{{resource=~"nvidia_com_mig_{g}g_.+"}} * {g} / 7' for g in (1, 2, 3, 4, 7)
)
RECORDING_RULES: tuple[tuple[str, str], ...] = (
    # Physical GPUs behind one advertised nvidia.com/gpu, per node.
    # Capacity, not allocatable: a GPU the device plugin marks unhealthy must not raise everyone's share.
    (
        "gpu_platform:node_gpus:per_advertised_gpu",
        (
            "count by (node) (count by (node, UUID) (DCGM_FI_DEV_GPU_TEMP))"
            ' / on (node) max by (node) (kube_node_status_capacity{resource="nvidia_com_gpu"} > 0)'
        ),
    ),
    # GPUs held by running pods, per pod, as shares of physical GPUs.
    (
        "gpu_platform:pod_gpus:allocated",
        (
            f"sum by (namespace, pod) ({MIG_SHARE}"
            ' or kube_pod_container_resource_requests{resource="nvidia_com_gpu"}'
            " * on (node) group_left () gpu_platform:node_gpus:per_advertised_gpu"
            # a node whose exporter is not scraped counts each advertised GPU as one, rather than not at all
            ' or kube_pod_container_resource_requests{resource="nvidia_com_gpu"})'
            ' * on (namespace, pod) group_left () (max by (namespace, pod) (kube_pod_status_phase{phase="Running"}) == 1)'
        ),
    ),
    # ... with who pays for them.
    (
        "gpu_platform:pod_gpus:allocated_by_cost",
        (
            f"gpu_platform:pod_gpus:allocated * on (namespace, pod) group_left ({COST_LABELS})"
            f" max by (namespace, pod, {COST_LABELS}) (kube_pod_labels)"
        ),
    ),
    # The part of those GPUs that does no work, with who pays. Activity is measured per device (or MIG
    # instance) and copied to every pod sharing it (dcgm-exporter KUBERNETES_VIRTUAL_GPUS): a pod's idle
    # share is its allocation times the fraction of its devices that are idle.
    (
        "gpu_platform:pod_gpus:idle_by_cost",
        (
            "gpu_platform:pod_gpus:allocated_by_cost * on (namespace, pod) group_left ()"
            f' (count by (namespace, pod) (DCGM_FI_PROF_GR_ENGINE_ACTIVE{{pod!=""}} < {IDLE_ACTIVITY})'
            ' / count by (namespace, pod) (DCGM_FI_PROF_GR_ENGINE_ACTIVE{pod!=""}))'
        ),
    ),
)

ALERTS: tuple[Alert, ...] = (
    Alert(
        "GpuXidError",
        f"{device('DCGM_FI_DEV_XID_ERRORS')} > 0",
        "0m",
        "critical",
        "GPU {{ $labels.gpu }} on {{ $labels.node }} reported XID {{ $value }}",
        "The driver reported an XID error (the value is its code: 13/31/43 are usually the application, "
        "48/63/64/74/79/92/94/95 the hardware or NVLink). Look up the code in NVIDIA's XID catalogue; for a "
        "hardware code, cordon and drain the node and replace the instance.",
    ),
    Alert(
        "GpuEccDoubleBitErrors",
        f"max without ({POD_ATTRIBUTION}) (increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[10m])) > 0",
        "0m",
        "critical",
        "GPU {{ $labels.gpu }} on {{ $labels.node }} had uncorrectable ECC errors",
        "Double-bit (uncorrectable) memory errors corrupt results and usually crash the process. Cordon and "
        "drain the node; if row remapping failed too, stop the instance so AWS moves it to new hardware.",
    ),
    Alert(
        "GpuRowRemapFailed",
        f"{device('DCGM_FI_DEV_ROW_REMAP_FAILURE')} > 0",
        "0m",
        "critical",
        "GPU {{ $labels.gpu }} on {{ $labels.node }} could not remap faulty memory rows",
        "The GPU ran out of spare memory rows. Cordon and drain the node and stop/start the instance to get "
        "new hardware.",
    ),
    Alert(
        "GpuTemperatureHigh",
        f"{device('DCGM_FI_DEV_GPU_TEMP')} > {HOT_CELSIUS}",
        "5m",
        "warning",
        "GPU {{ $labels.gpu }} on {{ $labels.node }} is at {{ $value }} C",
        "Above 85 C the GPU throttles its clocks and work slows down. Check power draw and clocks on the GPU "
        "fleet dashboard; if only one node is hot, drain it and replace the instance.",
    ),
    Alert(
        "GpuFramebufferNearlyFull",
        f"{device('DCGM_FI_DEV_FB_USED')} / ({device('DCGM_FI_DEV_FB_USED')} + {device('DCGM_FI_DEV_FB_FREE')})"
        f" > {FRAMEBUFFER_FULL}",
        "15m",
        "warning",
        "GPU {{ $labels.gpu }} on {{ $labels.node }} has used over 95% of its memory",
        "The next allocation of the pod on this GPU will fail with out-of-memory. Check the model's batch size "
        "and KV-cache settings, or move it to a larger MIG profile or a whole GPU.",
    ),
    # One alert per pod: a pod holding several GPUs (or time-sliced replicas, one series each) alerts once.
    Alert(
        "GpuAllocatedButIdle",
        f'max by (namespace, pod, node) (max_over_time(DCGM_FI_PROF_GR_ENGINE_ACTIVE{{pod!=""}}[5m]))'
        f" < {IDLE_ACTIVITY}",
        "1h",
        "warning",
        "{{ $labels.namespace }}/{{ $labels.pod }} has held a GPU for an hour without using it",
        "Money is burning: the GPU is allocated to a pod that does no work. Ask the owner (the cost labels on "
        "the pod) to scale the workload down, or use a MIG profile or a time-sliced pool.",
    ),
    Alert(
        "GpuPodsPending",
        f"sum by (namespace, pod) ({GPU_REQUESTS})"
        " * on (namespace, pod) group_left () (max by (namespace, pod) (kube_pod_status_unschedulable) == 1) > 0",
        "10m",
        "warning",
        "{{ $labels.namespace }}/{{ $labels.pod }} has waited 10 minutes for a GPU",
        "No node of the pool the pod targets has a free GPU of the kind it asks for. Check that the pool "
        "advertises that resource (its MIG profile or time-slicing), then raise the pool's maxSize or free "
        "capacity; for SPOT pools, check for interruptions.",
    ),
    Alert(
        "DcgmExporterDown",
        f'up{{job="{DCGM_JOB}"}} == 0',
        "5m",
        "critical",
        "The DCGM exporter on {{ $labels.node }} cannot be scraped",
        "GPU health on this node is invisible: XID, ECC and temperature alerts cannot fire. Check the "
        "nvidia-dcgm-exporter pod in the gpu-operator namespace (kubectl -n gpu-operator describe pod).",
    ),
    Alert(
        "DcgmExporterMissing",
        f'absent(up{{job="{DCGM_JOB}"}}) and on () (count(kube_node_labels{{{POOL_METRIC_LABEL}!=""}}) > 0)',
        "10m",
        "critical",
        "GPU nodes run, but no DCGM exporter is scraped at all",
        "The GPU Operator's exporter or its ServiceMonitor is missing. Check the ClusterPolicy status "
        "(kubectl get clusterpolicy) and the ServiceMonitor in the gpu-operator namespace.",
    ),
)


def alert_rule(a: Alert) -> dict:
    """An alert as a Prometheus rules file (and a PrometheusRule) writes it."""
    return {
        "alert": a.name,
        "expr": a.expr,
        "for": a.duration,
        "labels": {"severity": a.severity},
        "annotations": {"summary": a.summary, "runbook": a.runbook},
    }


def rule_groups() -> list[dict]:
    """Prometheus rule groups, in the format of a rules file and of a PrometheusRule's spec."""
    return [
        {
            "name": "gpu-platform.cost",
            "interval": "1m",
            "rules": [{"record": name, "expr": expr} for name, expr in RECORDING_RULES],
        },
        {
            "name": "gpu-platform.gpu",
            "rules": [alert_rule(a) for a in ALERTS],
        },
    ]
