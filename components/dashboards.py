"""Grafana dashboards as code, built with Grafana's own Foundation SDK (grafana-foundation-sdk).

GPU fleet: utilization, framebuffer, power, temperature and errors per pool, node and GPU, with
MIG instances in rows of their own. Cost: GPU-hours and idle GPU-hours by cost center, product
and workload type. Queries use only DCGM counters the platform exports (gpu_metrics.py),
kube-state-metrics series with the allow-listed labels, and the platform's recording rules.
"""

from __future__ import annotations

import json

from gpu_platform.components.gpu_metrics import device
from gpu_platform.components.node_labels import POOL_METRIC_LABEL
from grafana_foundation_sdk.builders import bargauge, dashboard, prometheus, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import VariableRefresh

POOL = POOL_METRIC_LABEL
IN_POOL = f'* on (node) group_left ({POOL}) kube_node_labels{{{POOL}=~"$pool"}}'
SELECTED = 'node=~"$node"'


def _query(expr: str, legend: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend)


def _series(title: str, unit: str, *queries: prometheus.Dataquery, description: str = "") -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).description(description)
    for query in queries:
        panel = panel.with_target(query)
    return panel


def _totals(title: str, expr: str, legend: str, unit: str = "h") -> bargauge.Panel:
    query = prometheus.Dataquery().expr(expr).legend_format(legend).instant()
    return bargauge.Panel().title(title).unit(unit).with_target(query)


def _pool_and_node_variables(board: dashboard.Dashboard) -> dashboard.Dashboard:
    pool = (
        dashboard.QueryVariable("pool")
        .label("GPU pool")
        .query(f"label_values(kube_node_labels, {POOL})")
        .multi(True)
        .include_all(True)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
    )
    node = (
        dashboard.QueryVariable("node")
        .label("Node")
        .query(f'label_values(kube_node_labels{{{POOL}=~"$pool"}}, node)')
        .multi(True)
        .include_all(True)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
    )
    return board.with_variable(pool).with_variable(node)


def gpu_fleet() -> dashboard.Dashboard:
    board = _pool_and_node_variables(
        dashboard.Dashboard("GPU fleet")
        .uid("gpu-platform-fleet")
        .tags(["gpu", "gpu-platform"])
        .refresh("1m")
        .time("now-6h", "now")
    )
    return (
        board.with_row(dashboard.Row("Utilization"))
        .with_panel(
            _series(
                "GPU utilization by pool",
                "percent",
                _query(f"avg by ({POOL}) ({device('DCGM_FI_DEV_GPU_UTIL')} {IN_POOL})", f"{{{{{POOL}}}}}"),
            )
        )
        .with_panel(
            _series(
                "GPU utilization by node and GPU",
                "percent",
                _query(device("DCGM_FI_DEV_GPU_UTIL", SELECTED), "{{node}} GPU {{gpu}}"),
            )
        )
        .with_panel(
            _series(
                "Graphics engine activity by pod",
                "percentunit",
                _query(f'DCGM_FI_PROF_GR_ENGINE_ACTIVE{{pod!="", {SELECTED}}}', "{{namespace}}/{{pod}} GPU {{gpu}}"),
                description="Below 5% for an hour raises GpuAllocatedButIdle.",
            )
        )
        .with_row(dashboard.Row("Memory"))
        .with_panel(
            _series(
                "Framebuffer used",
                "percentunit",
                _query(
                    f"{device('DCGM_FI_DEV_FB_USED', SELECTED)}"
                    f" / ({device('DCGM_FI_DEV_FB_USED', SELECTED)} + {device('DCGM_FI_DEV_FB_FREE', SELECTED)})",
                    "{{node}} GPU {{gpu}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Tensor core and memory activity by pool",
                "percentunit",
                _query(
                    f"avg by ({POOL}) ({device('DCGM_FI_PROF_PIPE_TENSOR_ACTIVE')} {IN_POOL})",
                    "tensor {{" + POOL + "}}",
                ),
                _query(f"avg by ({POOL}) ({device('DCGM_FI_PROF_DRAM_ACTIVE')} {IN_POOL})", "DRAM {{" + POOL + "}}"),
            )
        )
        .with_row(dashboard.Row("Power and temperature"))
        .with_panel(
            _series("Power draw", "watt", _query(device("DCGM_FI_DEV_POWER_USAGE", SELECTED), "{{node}} GPU {{gpu}}"))
        )
        .with_panel(
            _series(
                "GPU temperature",
                "celsius",
                _query(device("DCGM_FI_DEV_GPU_TEMP", SELECTED), "{{node}} GPU {{gpu}}"),
                description="Above 85 C for 5 minutes raises GpuTemperatureHigh.",
            )
        )
        .with_row(dashboard.Row("Errors"))
        .with_panel(
            _series(
                "Last XID error by GPU",
                "none",
                _query(f"{device('DCGM_FI_DEV_XID_ERRORS', SELECTED)} > 0", "{{node}} GPU {{gpu}}"),
                description="The value is the XID code; any point here raises GpuXidError.",
            )
        )
        .with_panel(
            _series(
                "Uncorrectable ECC errors (10m)",
                "none",
                _query(f"increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL{{{SELECTED}}}[10m])", "{{node}} GPU {{gpu}}"),
            )
        )
        .with_row(dashboard.Row("MIG instances"))
        .with_panel(
            _series(
                "Activity by MIG instance",
                "percentunit",
                _query(
                    f'DCGM_FI_PROF_GR_ENGINE_ACTIVE{{GPU_I_PROFILE!="", {SELECTED}}}',
                    "{{node}} GPU {{gpu}} {{GPU_I_PROFILE}} #{{GPU_I_ID}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Framebuffer used by MIG instance",
                "decmbytes",
                _query(
                    device("DCGM_FI_DEV_FB_USED", f'GPU_I_PROFILE!="", {SELECTED}'),
                    "{{node}} GPU {{gpu}} {{GPU_I_PROFILE}} #{{GPU_I_ID}}",
                ),
            )
        )
    )


def gpu_cost() -> dashboard.Dashboard:
    hours = "sum_over_time({rule}[$__range:1m]) / 60"
    allocated = hours.format(rule="gpu_platform:pod_gpus:allocated_by_cost")
    idle = hours.format(rule="gpu_platform:pod_gpus:idle_by_cost")
    board = (
        dashboard.Dashboard("GPU cost")
        .uid("gpu-platform-cost")
        .tags(["gpu", "gpu-platform", "cost"])
        .refresh("5m")
        .time("now-7d", "now")
    )
    for label, title in (
        ("label_cost_center", "cost center"),
        ("label_product", "product"),
        ("label_workload_type", "workload type"),
    ):
        board = (
            board.with_row(dashboard.Row(f"By {title}"))
            .with_panel(_totals(f"GPU-hours by {title}", f"sum by ({label}) ({allocated})", f"{{{{{label}}}}}"))
            .with_panel(_totals(f"Idle GPU-hours by {title}", f"sum by ({label}) ({idle})", f"{{{{{label}}}}}"))
        )
    return (
        board.with_row(dashboard.Row("Over time"))
        .with_panel(
            _series(
                "Allocated GPUs by cost center",
                "none",
                _query("sum by (label_cost_center) (gpu_platform:pod_gpus:allocated_by_cost)", "{{label_cost_center}}"),
            )
        )
        .with_panel(
            _series(
                "Idle share of allocated GPUs",
                "percentunit",
                _query(
                    "sum(gpu_platform:pod_gpus:idle_by_cost) / sum(gpu_platform:pod_gpus:allocated_by_cost)", "idle"
                ),
            )
        )
    )


DASHBOARDS = {"gpu-fleet.json": gpu_fleet, "gpu-cost.json": gpu_cost}


def rendered() -> dict[str, str]:
    """Dashboard JSON by file name, as the Grafana sidecar loads them from ConfigMaps."""
    return {name: json.dumps(build().build(), cls=JSONEncoder, sort_keys=True) for name, build in DASHBOARDS.items()}
