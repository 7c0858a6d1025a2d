"""Observability: alert rules judged by promtool on synthetic DCGM series, queries by an independent
PromQL parser, dashboards against the metrics that exist, and the wiring in the plans."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import promql_parser
import pytest
import yaml
from gpu_platform.components import gpu_metrics
from gpu_platform.offline import plan as offline_plan
from gpu_platform.offline.engine import StackConfig, run_program

from tests import metrics_reference
from tests.planning import MINIMAL, PROJECT, ROOT, Plan, is_secret, with_changes

PROMTOOL = Path(os.environ.get("PROMTOOL", ROOT / ".tools/prometheus/usr/bin/promtool"))
AMTOOL = Path(os.environ.get("AMTOOL", ROOT / ".tools/prometheus-alertmanager/usr/bin/amtool"))
DCGM = {"job": "nvidia-dcgm-exporter", "gpu": "0", "node": "gpu-a", "modelName": "NVIDIA H100 80GB HBM3"}
WORKLOAD = {**DCGM, "namespace": "team-a", "pod": "llm-0"}
RUNBOOK = {a.name: a.runbook for a in gpu_metrics.ALERTS}


def series(name: str, labels: dict[str, str], values: str) -> dict:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def firing(alert: str, labels: dict[str, str], summary: str, severity: str) -> dict:
    return {
        "exp_labels": {**labels, "severity": severity},
        "exp_annotations": {"summary": summary, "runbook": RUNBOOK[alert]},
    }


def case(alert: str, inputs: list[dict], checks: list[tuple[str, list[dict]]]) -> dict:
    """One promtool test: the series, then the alerts expected at each evaluation time."""
    return {
        "interval": "1m",
        "input_series": inputs,
        "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": expected} for at, expected in checks],
    }


def no_pod(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k not in ("namespace", "pod")}


KSM = {"job": "kube-state-metrics"}
PENDING = {"namespace": "team-a", "pod": "llm-1"}
ALERT_CASES = {
    "GpuXidError": [
        case(
            "GpuXidError",
            [series("DCGM_FI_DEV_XID_ERRORS", DCGM, "0 0 79 79")],
            [("1m", []), ("2m", [firing("GpuXidError", DCGM, "GPU 0 on gpu-a reported XID 79", "critical")])],
        ),
        case("GpuXidError", [series("DCGM_FI_DEV_XID_ERRORS", DCGM, "0x10")], [("10m", [])]),
    ],
    "GpuEccDoubleBitErrors": [
        case(
            "GpuEccDoubleBitErrors",
            [series("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", DCGM, "0 0 0 2 2 2")],
            [
                ("2m", []),
                (
                    "4m",
                    [firing("GpuEccDoubleBitErrors", DCGM, "GPU 0 on gpu-a had uncorrectable ECC errors", "critical")],
                ),
            ],
        ),
        case("GpuEccDoubleBitErrors", [series("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", DCGM, "3x20")], [("15m", [])]),
    ],
    "GpuRowRemapFailed": [
        case(
            "GpuRowRemapFailed",
            [series("DCGM_FI_DEV_ROW_REMAP_FAILURE", DCGM, "0 1")],
            [
                (
                    "1m",
                    [
                        firing(
                            "GpuRowRemapFailed", DCGM, "GPU 0 on gpu-a could not remap faulty memory rows", "critical"
                        )
                    ],
                )
            ],
        ),
        case("GpuRowRemapFailed", [series("DCGM_FI_DEV_ROW_REMAP_FAILURE", DCGM, "0x5")], [("5m", [])]),
    ],
    "GpuTemperatureHigh": [
        case(
            "GpuTemperatureHigh",
            [series("DCGM_FI_DEV_GPU_TEMP", DCGM, "90x10")],
            [("4m", []), ("6m", [firing("GpuTemperatureHigh", DCGM, "GPU 0 on gpu-a is at 90 C", "warning")])],
        ),
        case("GpuTemperatureHigh", [series("DCGM_FI_DEV_GPU_TEMP", DCGM, "80x10")], [("10m", [])]),
        case("GpuTemperatureHigh", [series("DCGM_FI_DEV_GPU_TEMP", DCGM, "90 90 90 70 90 90 90")], [("6m", [])]),
    ],
    "GpuAllocatedButIdle": [
        case(
            "GpuAllocatedButIdle",
            [series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", WORKLOAD, "0.01x80")],
            [
                ("30m", []),
                (
                    "61m",
                    [
                        firing(
                            "GpuAllocatedButIdle",
                            {"namespace": "team-a", "pod": "llm-0", "node": "gpu-a"},
                            "team-a/llm-0 has held a GPU for an hour without using it",
                            "warning",
                        )
                    ],
                ),
            ],
        ),
        # Two time-sliced replicas of one idle GPU (dcgm-exporter gives each its own series, vgpu 0 and 1):
        # one alert for the pod.
        case(
            "GpuAllocatedButIdle",
            [
                series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", {**WORKLOAD, "vgpu": "0"}, "0.01x80"),
                series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", {**WORKLOAD, "vgpu": "1"}, "0.01x80"),
            ],
            [
                (
                    "61m",
                    [
                        firing(
                            "GpuAllocatedButIdle",
                            {"namespace": "team-a", "pod": "llm-0", "node": "gpu-a"},
                            "team-a/llm-0 has held a GPU for an hour without using it",
                            "warning",
                        )
                    ],
                )
            ],
        ),
        case("GpuAllocatedButIdle", [series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", WORKLOAD, "0.6x80")], [("70m", [])]),
        # A GPU that no pod holds is spare capacity, not money burning. Its series has no pod label:
        # the exporter sets none, and the scrape drops the exporter pod's own.
        case("GpuAllocatedButIdle", [series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", no_pod(WORKLOAD), "0x80")], [("70m", [])]),
    ],
    "GpuFramebufferNearlyFull": [
        case(
            "GpuFramebufferNearlyFull",
            [series("DCGM_FI_DEV_FB_USED", DCGM, "79000x20"), series("DCGM_FI_DEV_FB_FREE", DCGM, "500x20")],
            [
                ("10m", []),
                (
                    "16m",
                    [
                        firing(
                            "GpuFramebufferNearlyFull",
                            DCGM,
                            "GPU 0 on gpu-a has used over 95% of its memory",
                            "warning",
                        )
                    ],
                ),
            ],
        ),
        # As dcgm-exporter writes them with KUBERNETES_VIRTUAL_GPUS and two pods sharing the GPU: the device's
        # own FB_USED, per-process FB_USED per pod (pod_uid; 0 without the host's PIDs), FB_FREE copied per pod.
        case(
            "GpuFramebufferNearlyFull",
            [
                series("DCGM_FI_DEV_FB_USED", DCGM, "79000x20"),
                *[
                    series(
                        "DCGM_FI_DEV_FB_USED",
                        {**DCGM, "namespace": "team-a", "pod": f"p{i}", "pod_uid": f"u{i}"},
                        "0x20",
                    )
                    for i in range(2)
                ],
                *[
                    series(
                        "DCGM_FI_DEV_FB_FREE", {**DCGM, "namespace": "team-a", "pod": f"p{i}", "vgpu": str(i)}, "500x20"
                    )
                    for i in range(2)
                ],
            ],
            [
                (
                    "16m",
                    [
                        firing(
                            "GpuFramebufferNearlyFull",
                            DCGM,
                            "GPU 0 on gpu-a has used over 95% of its memory",
                            "warning",
                        )
                    ],
                )
            ],
        ),
        case(
            "GpuFramebufferNearlyFull",
            [series("DCGM_FI_DEV_FB_USED", DCGM, "40000x20"), series("DCGM_FI_DEV_FB_FREE", DCGM, "40000x20")],
            [("16m", [])],
        ),
    ],
    "GpuPodsPending": [
        case(
            "GpuPodsPending",
            [
                series(
                    "kube_pod_container_resource_requests",
                    {**KSM, **PENDING, "container": "server", "resource": "nvidia_com_mig_1g_10gb", "unit": "integer"},
                    "1x20",
                ),
                series("kube_pod_status_unschedulable", {**KSM, **PENDING}, "1x20"),
            ],
            [
                ("5m", []),
                ("11m", [firing("GpuPodsPending", PENDING, "team-a/llm-1 has waited 10 minutes for a GPU", "warning")]),
            ],
        ),
        case(
            "GpuPodsPending",
            [  # waiting for CPU is someone else's alert
                series(
                    "kube_pod_container_resource_requests",
                    {**KSM, **PENDING, "container": "server", "resource": "cpu", "unit": "core"},
                    "2x20",
                ),
                series("kube_pod_status_unschedulable", {**KSM, **PENDING}, "1x20"),
            ],
            [("15m", [])],
        ),
    ],
    "DcgmExporterDown": [
        case(
            "DcgmExporterDown",
            [series("up", {"job": "nvidia-dcgm-exporter", "node": "gpu-a"}, "0x10")],
            [
                (
                    "6m",
                    [
                        firing(
                            "DcgmExporterDown",
                            {"job": "nvidia-dcgm-exporter", "node": "gpu-a"},
                            "The DCGM exporter on gpu-a cannot be scraped",
                            "critical",
                        )
                    ],
                )
            ],
        ),
        case(
            "DcgmExporterDown", [series("up", {"job": "nvidia-dcgm-exporter", "node": "gpu-a"}, "1x10")], [("10m", [])]
        ),
    ],
    "DcgmExporterMissing": [
        case(
            "DcgmExporterMissing",
            [series("kube_node_labels", {**KSM, "node": "gpu-a", "label_gpu_platform_io_pool": "h100-mig"}, "1x15")],
            [
                (
                    "11m",
                    [
                        firing(
                            "DcgmExporterMissing",
                            {"job": "nvidia-dcgm-exporter"},
                            "GPU nodes run, but no DCGM exporter is scraped at all",
                            "critical",
                        )
                    ],
                )
            ],
        ),
        case(
            "DcgmExporterMissing",
            [
                series("kube_node_labels", {**KSM, "node": "gpu-a", "label_gpu_platform_io_pool": "h100-mig"}, "1x15"),
                series("up", {"job": "nvidia-dcgm-exporter", "node": "gpu-a"}, "1x15"),
            ],
            [("12m", [])],
        ),
        case("DcgmExporterMissing", [series("kube_node_labels", {**KSM, "node": "cpu-a"}, "1x15")], [("12m", [])]),
    ],
}


def pod_series(pod: str, node: str, resource: str, count: int, center: str) -> list[dict]:
    """A running pod asking for `count` of a GPU resource on a node, and its cost labels."""
    who = {**KSM, "namespace": "team-a", "pod": pod}
    return [
        series(
            "kube_pod_container_resource_requests",
            {**who, "node": node, "container": "server", "resource": resource, "unit": "integer"},
            f"{count}x10",
        ),
        series("kube_pod_status_phase", {**who, "uid": pod, "phase": "Running"}, "1x10"),
        series(
            "kube_pod_labels",
            {
                **who,
                "uid": pod,
                "label_cost_center": center,
                "label_product": "chat",
                "label_environment": "prod",
                "label_workload_type": "inference",
            },
            "1x10",
        ),
    ]


def dcgm_series(node: str, uuid: str, pod: str, activity: str, **extra: str) -> list[dict]:
    labels = {
        "job": "nvidia-dcgm-exporter",
        "node": node,
        "UUID": uuid,
        "gpu": "0",
        "namespace": "team-a",
        "pod": pod,
        **extra,
    }
    return [
        series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", labels, f"{activity}x10"),
        series("DCGM_FI_DEV_GPU_TEMP", labels, "50x10"),
    ]


def allocatable(node: str, gpus: int, usable: int | None = None) -> list[dict]:
    """What a node advertises: capacity, and allocatable (less where a GPU is unhealthy)."""
    labels = {**KSM, "node": node, "resource": "nvidia_com_gpu", "unit": "integer"}
    return [
        series("kube_node_status_capacity", labels, f"{gpus}x10"),
        series("kube_node_status_allocatable", labels, f"{gpus if usable is None else usable}x10"),
    ]


# One L4 time-sliced 4 ways and shared by 4 idle pods (dcgm-exporter with KUBERNETES_VIRTUAL_GPUS gives each
# pod a copy of the device's series, told apart by vgpu); one H100 cut into seven 1g instances, one pod each,
# one of them idle; one whole H100 held by a busy pod; two whole GPUs held by one pod, one of them idle.
SHARED = [
    s
    for i in range(4)
    for s in pod_series(f"ts-{i}", "l4-a", "nvidia_com_gpu", 1, "search")
    + dcgm_series("l4-a", "GPU-shared", f"ts-{i}", "0.01", vgpu=str(i))
] + allocatable("l4-a", 4)
MIG = [
    s
    for i in range(7)
    for s in pod_series(f"mig-{i}", "h100-a", "nvidia_com_mig_1g_10gb", 1, "research")
    + dcgm_series("h100-a", "GPU-mig", f"mig-{i}", "0.0" if i == 0 else "0.5", GPU_I_PROFILE="1g.10gb", GPU_I_ID=str(i))
]
WHOLE = (
    pod_series("whole-0", "h100-b", "nvidia_com_gpu", 1, "chat")
    + dcgm_series("h100-b", "GPU-whole", "whole-0", "0.7")
    + allocatable("h100-b", 1)
)
TWO = (
    pod_series("llm-0", "h100-c", "nvidia_com_gpu", 2, "batch")
    + dcgm_series("h100-c", "GPU-c0", "llm-0", "0.01")
    + dcgm_series("h100-c", "GPU-c1", "llm-0", "0.7")
    + allocatable("h100-c", 2)
)
# A node of 8 GPUs with one marked unhealthy by the device plugin, and a node whose exporter is not scraped.
DEGRADED = (
    pod_series("deg-0", "h100-d", "nvidia_com_gpu", 1, "degraded")
    + [s for i in range(8) for s in dcgm_series("h100-d", f"GPU-d{i}", "deg-0" if i == 0 else "", "0.7")]
    + allocatable("h100-d", 8, usable=7)
)
UNSCRAPED = pod_series("blind-0", "h100-e", "nvidia_com_gpu", 2, "blind") + allocatable("h100-e", 2)


def sample(expr: str, value: float, **labels: str) -> dict:
    """The one sample `expr` gives at 5m; a bare selector keeps its metric name."""
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    name = expr.split("{")[0] if expr.startswith("gpu_platform:") else ""
    return {"expr": expr, "eval_time": "5m", "exp_samples": [{"labels": f"{name}{{{inner}}}", "value": value}]}


RECORDING_CASE = {
    "interval": "1m",
    "input_series": SHARED + MIG + WHOLE + TWO + DEGRADED + UNSCRAPED,
    "promql_expr_test": [
        # Allocations in physical GPUs: a time-sliced replica is a quarter of its GPU, a 1g instance a seventh.
        sample('gpu_platform:pod_gpus:allocated{pod="ts-0"}', 0.25, namespace="team-a", pod="ts-0"),
        sample('gpu_platform:pod_gpus:allocated{pod="mig-3"}', 1 / 7, namespace="team-a", pod="mig-3"),
        sample('gpu_platform:pod_gpus:allocated{pod="whole-0"}', 1, namespace="team-a", pod="whole-0"),
        sample('gpu_platform:pod_gpus:allocated{pod="llm-0"}', 2, namespace="team-a", pod="llm-0"),
        # The shared GPU is one GPU, however many pods share it.
        sample(
            'sum by (label_cost_center) (gpu_platform:pod_gpus:allocated_by_cost{label_cost_center="search"})',
            1,
            label_cost_center="search",
        ),
        sample(
            'sum by (label_cost_center) (gpu_platform:pod_gpus:idle_by_cost{label_cost_center="search"})',
            1,
            label_cost_center="search",
        ),
        # Idle shares: the idle MIG instance only; half of the two-GPU pod; nothing of the busy whole GPU.
        sample(
            'sum by (label_cost_center) (gpu_platform:pod_gpus:idle_by_cost{label_cost_center="research"})',
            1 / 7,
            label_cost_center="research",
        ),
        sample(
            'gpu_platform:pod_gpus:idle_by_cost{pod="llm-0"}',
            1,
            namespace="team-a",
            pod="llm-0",
            label_cost_center="batch",
            label_product="chat",
            label_environment="prod",
            label_workload_type="inference",
        ),
        {"expr": 'gpu_platform:pod_gpus:idle_by_cost{label_cost_center="chat"}', "eval_time": "5m", "exp_samples": []},
        # An unhealthy GPU does not raise the others' share; an unscraped node still bills what pods ask for.
        sample('gpu_platform:pod_gpus:allocated{pod="deg-0"}', 1, namespace="team-a", pod="deg-0"),
        sample('gpu_platform:pod_gpus:allocated{pod="blind-0"}', 2, namespace="team-a", pod="blind-0"),
    ],
}


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory) -> Path:
    assert PROMTOOL.exists(), f"promtool not found at {PROMTOOL}: run `make test`, which installs it"
    folder = tmp_path_factory.mktemp("rules")
    path = folder / "gpu-platform.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": gpu_metrics.rule_groups()}, sort_keys=False))
    return path


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, check=False)


def test_promtool_checks_the_rules(rules_file: Path):
    result = promtool("check", "rules", str(rules_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(gpu_metrics.ALERTS) + len(gpu_metrics.RECORDING_RULES)} rules found" in result.stdout


def test_every_alert_has_a_firing_and_a_silent_case():
    assert set(ALERT_CASES) == {a.name for a in gpu_metrics.ALERTS}
    for alert, cases in ALERT_CASES.items():
        checks = [c for test in cases for c in test["alert_rule_test"]]
        assert any(c["exp_alerts"] for c in checks), alert
        assert any(not c["exp_alerts"] for c in checks), alert


@pytest.mark.parametrize("alert", sorted(ALERT_CASES))
def test_promtool_unit_tests_fire_each_alert_when_it_should_and_not_on_healthy_series(alert, rules_file, tmp_path):
    tests = tmp_path / "tests.yaml"
    tests.write_text(
        yaml.safe_dump(
            {"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": ALERT_CASES[alert]}, sort_keys=False
        )
    )
    result = promtool("test", "rules", str(tests))
    assert result.returncode == 0, result.stdout + result.stderr


def test_recording_rules_attribute_allocated_and_idle_gpus_to_who_pays(rules_file, tmp_path):
    tests = tmp_path / "tests.yaml"
    tests.write_text(
        yaml.safe_dump(
            {"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": [RECORDING_CASE]}, sort_keys=False
        )
    )
    result = promtool("test", "rules", str(tests))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_would_catch_a_broken_expression(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        yaml.safe_dump(
            {"groups": [{"name": "x", "rules": [{"alert": "Broken", "expr": "sum by (node (DCGM_FI_DEV_GPU_UTIL)"}]}]}
        )
    )
    assert promtool("check", "rules", str(broken)).returncode != 0


# --- queries: parsed independently, and only metrics and labels that exist ------


def rule_expressions() -> list[str]:
    return [rule["expr"] for group in gpu_metrics.rule_groups() for rule in group["rules"]]


@pytest.mark.parametrize("expr", rule_expressions())
def test_every_rule_expression_parses_with_an_independent_promql_parser(expr):
    promql_parser.parse(expr)


def dashboard_queries(dashboard_json: str) -> list[tuple[str, str]]:
    board = json.loads(dashboard_json)
    return [(panel["title"], target["expr"]) for panel in board["panels"] for target in panel.get("targets", [])]


@pytest.fixture(scope="module")
def known(prod_plan: Plan) -> dict[str, set[str]]:
    return metrics_reference.known_labels(prod_plan, {name for name, _ in gpu_metrics.RECORDING_RULES})


def test_every_dashboard_query_parses_and_uses_only_metrics_and_labels_that_exist(prod_plan: Plan, known):
    boards = {
        c["inputs"]["metadata"]["name"]: next(iter(c["inputs"]["data"].values()))
        for c in prod_plan.of_type("kubernetes:core/v1:ConfigMap")
        if c["inputs"]["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    }
    assert set(boards) == {"dashboard-gpu-fleet", "dashboard-gpu-cost"}
    queries = [q for board in boards.values() for q in dashboard_queries(board)]
    assert len(queries) >= 20
    for title, expr in queries:
        assert metrics_reference.unknown_metrics_and_labels(metrics_reference.as_promql(expr), known) == [], title


def test_the_checker_catches_a_metric_that_does_not_exist_and_a_label_nobody_produces(known):
    problems = metrics_reference.unknown_metrics_and_labels(
        'avg by (Hostname) (DCGM_FI_DEV_GPU_UTILIZATION{cluster="x"}) * on (node) DCGM_FI_DEV_GPU_UTIL', known
    )
    assert problems == ["metric DCGM_FI_DEV_GPU_UTILIZATION", "label Hostname", "label cluster"]


def test_exported_dcgm_counters_are_real_dcgm_exporter_fields_and_include_ecc(prod_plan: Plan):
    exported = metrics_reference.exported_dcgm_counters(prod_plan)
    assert exported <= metrics_reference.DCGM_EXPORTER_FIELDS
    assert {"DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "DCGM_FI_DEV_XID_ERRORS", "DCGM_FI_PROF_GR_ENGINE_ACTIVE"} <= exported


@pytest.mark.parametrize("expr", rule_expressions())
def test_alerts_and_recording_rules_use_only_metrics_and_labels_that_exist(expr, known):
    assert metrics_reference.unknown_metrics_and_labels(expr, known) == []


# --- wiring in the plans -----------------------------------------------------------


def release(plan: Plan, chart: str) -> dict:
    return next(r["inputs"] for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == chart)


def test_prometheus_keeps_its_data_on_an_encrypted_volume_for_the_configured_time(prod_plan: Plan):
    values = release(prod_plan, "kube-prometheus-stack")["values"]
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "15d" and spec["retentionSize"] == "90GB"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3-encrypted" and claim["resources"]["requests"]["storage"] == "100Gi"
    [storage_class] = [s["inputs"] for s in prod_plan.of_type("kubernetes:storage.k8s.io/v1:StorageClass")]
    assert storage_class["metadata"]["name"] == "gp3-encrypted"
    assert storage_class["parameters"] == {"type": "gp3", "encrypted": "true"}
    assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False and spec["ruleSelectorNilUsesHelmValues"] is False
    assert spec["nodeSelector"] == {"gpu-platform.io/system": "true"}


def test_kube_state_metrics_exports_cost_labels_and_the_pool_label(prod_plan: Plan):
    values = release(prod_plan, "kube-prometheus-stack")["values"]
    assert values["kube-state-metrics"]["metricLabelsAllowlist"] == [
        "pods=[cost-center,product,environment,workload-type]",
        "namespaces=[cost-center,product,environment,workload-type]",
        "nodes=[gpu-platform.io/pool]",
    ]


def test_dcgm_is_scraped_with_workload_attribution_and_the_node(prod_plan: Plan):
    monitor = release(prod_plan, "gpu-operator")["values"]["dcgmExporter"]["serviceMonitor"]
    assert monitor["enabled"] is True and monitor["honorLabels"] is True
    assert monitor["relabelings"] == [
        {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"},
        {"regex": "pod|namespace|container", "action": "labeldrop"},
    ]


def test_alert_rules_reach_the_cluster_as_a_prometheus_rule(prod_plan: Plan, tmp_path: Path):
    rules = {
        r["inputs"]["metadata"]["name"]: r["inputs"]
        for r in prod_plan.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    }
    assert set(rules) == {"gpu-platform", "gatekeeper"}  # Gatekeeper's: tests/test_admission.py
    assert rules["gpu-platform"]["metadata"]["namespace"] == "monitoring"
    # What the plan sends is judged by promtool itself, not compared with the function that wrote it.
    path = tmp_path / "from-the-plan.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rules["gpu-platform"]["spec"]["groups"]}, sort_keys=False))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = {r["alert"] for g in rules["gpu-platform"]["spec"]["groups"] for r in g["rules"] if "alert" in r}
    assert {"GpuXidError", "GpuAllocatedButIdle", "DcgmExporterDown"} <= alerts


def test_fluent_bit_ships_logs_through_its_own_irsa_role_to_a_retained_log_group(prod_plan: Plan):
    group = prod_plan.named("aws:cloudwatch/logGroup:LogGroup", "gpu-platform-prod-observability-containers")
    assert group["inputs"]["name"] == "/aws/eks/gpu-platform-prod-cluster/containers"
    assert group["inputs"]["retentionInDays"] == 30
    values = release(prod_plan, "aws-for-fluent-bit")["values"]
    assert values["cloudWatchLogs"]["logGroupName"] == group["inputs"]["name"]
    assert values["cloudWatchLogs"]["autoCreateGroup"] is False
    assert values["serviceAccount"] == {"create": False, "name": "fluent-bit"}
    role = prod_plan.named("aws:iam/role:Role", "gpu-platform-prod-observability-fluent-bit")
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:logging:fluent-bit" in trust.values()
    [policy] = [
        json.loads(p["inputs"]["policy"])
        for p in prod_plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p["inputs"]["role"] == role["id"]
    ]
    arn = group["outputs"]["arn"]
    assert policy["Statement"][0]["Resource"] == [arn, f"{arn}:*"]


def test_lean_dev_ships_no_logs_and_observability_off_removes_metrics():
    dev = Plan.of_stack("dev")
    assert "aws-for-fluent-bit" not in {r["inputs"]["chart"] for r in dev.of_type("kubernetes:helm.sh/v3:Release")}
    off = Plan.of_config(
        with_changes(
            MINIMAL, {"observability.enabled": False, "observability.grafana": False, "observability.logs": False}
        )
    )
    charts = {r["inputs"]["chart"] for r in off.of_type("kubernetes:helm.sh/v3:Release")}
    assert charts == {"cluster-autoscaler", "gatekeeper", "aws-load-balancer-controller"}  # none is observability
    assert off.of_type("kubernetes:monitoring.coreos.com/v1:PodMonitor") == []
    assert off.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule") == []


@pytest.fixture(scope="module")
def plan_with_receivers() -> tuple[Plan, str]:
    platform = with_changes(
        MINIMAL,
        {
            "observability.alerting": {
                "slackWebhookUrl": "https://hooks.slack.com/services/T0/B0/abc",
                "pagerdutyRoutingKey": "pd-key-123",
            }
        },
    )
    config = StackConfig({f"{PROJECT}:platform": json.dumps(platform)}, [f"{PROJECT}:platform"])
    document = offline_plan.deployment(run_program(ROOT, "test", config))
    return Plan(document), offline_plan.dumps(document)


def alertmanager_yaml(plan: Plan) -> str:
    [secret] = [
        r["inputs"]
        for r in plan.of_type("kubernetes:core/v1:Secret")
        if r["inputs"]["metadata"]["name"] == "alertmanager-gpu-platform"
    ]
    assert is_secret(secret["stringData"])
    return json.loads(secret["stringData"]["plaintext"])["alertmanager.yaml"]


@pytest.mark.parametrize("receivers", [True, False])
def test_amtool_accepts_the_alertmanager_config(receivers, plan_with_receivers, prod_plan: Plan, tmp_path):
    assert AMTOOL.exists(), f"amtool not found at {AMTOOL}: run `make test`, which installs it"
    path = tmp_path / "alertmanager.yaml"
    path.write_text(alertmanager_yaml(plan_with_receivers[0] if receivers else prod_plan))
    result = subprocess.run([str(AMTOOL), "check-config", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f" - {3 if receivers else 1} receivers" in result.stdout


@pytest.mark.parametrize("labels, receivers", [("severity=critical", "pagerduty,slack"), ("severity=warning", "slack")])
def test_critical_alerts_page_and_reach_slack_and_the_rest_reach_slack(
    labels, receivers, plan_with_receivers, tmp_path
):
    path = tmp_path / "alertmanager.yaml"
    path.write_text(alertmanager_yaml(plan_with_receivers[0]))
    result = subprocess.run(
        [str(AMTOOL), "config", "routes", "test", f"--config.file={path}", labels],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == receivers, result.stdout + result.stderr


def routes(config_yaml: str, tmp_path: Path, *labels: str) -> str:
    path = tmp_path / "alertmanager.yaml"
    path.write_text(config_yaml)
    result = subprocess.run(
        [str(AMTOOL), "config", "routes", "test", f"--config.file={path}", *labels],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()


@pytest.mark.parametrize("alert", ["Watchdog", "InfoInhibitor"])
def test_alerts_that_always_fire_never_page(alert, plan_with_receivers, tmp_path):
    config = alertmanager_yaml(plan_with_receivers[0])
    # Watchdog is critical-looking (severity=none) in kube-prometheus-stack; whatever its labels, it stays quiet.
    assert routes(config, tmp_path, f"alertname={alert}", "severity=critical") == "null"
    assert routes(config, tmp_path, f"alertname={alert}", "severity=none") == "null"


def test_watchdog_reaches_a_dead_mans_switch_when_one_is_configured(tmp_path):
    platform = with_changes(
        MINIMAL,
        {
            "observability.alerting": {
                "deadMansSwitchUrl": "https://hc-ping.com/0000",
                "pagerdutyRoutingKey": "pd-key-123",
            }
        },
    )
    plan = Plan.of_config(platform)
    config = alertmanager_yaml(plan)
    assert routes(config, tmp_path, "alertname=Watchdog", "severity=none") == "deadmansswitch"
    assert routes(config, tmp_path, "alertname=InfoInhibitor") == "null"
    assert routes(config, tmp_path, "alertname=GpuXidError", "severity=critical") == "pagerduty"


def test_a_critical_alert_silences_the_warning_of_the_same_alert_and_namespace(prod_plan: Plan):
    inhibit = yaml.safe_load(alertmanager_yaml(prod_plan))["inhibit_rules"]
    assert {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity=~"warning|info"'],
        "equal": ["namespace", "alertname"],
    } in inhibit


def test_eks_control_plane_components_are_not_scraped_and_their_alerts_are_off(prod_plan: Plan):
    values = next(
        r["inputs"]["values"]
        for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release")
        if r["inputs"]["chart"] == "kube-prometheus-stack"
    )
    # EKS hides the controller manager, scheduler and etcd; its kube-proxy serves metrics on 127.0.0.1 only.
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert values[component] == {"enabled": False}
    rules = values["defaultRules"]["rules"]
    for group in ("kubeControllerManager", "kubeSchedulerAlerting", "kubeSchedulerRecording", "etcd", "kubeProxy"):
        assert rules[group] is False
    assert values.get("coreDns", {}).get("enabled", True)  # CoreDNS's metrics are served on the kube-dns Service


def test_alert_receivers_come_from_config_and_stay_secret(plan_with_receivers):
    plan, text = plan_with_receivers
    rendered = yaml.safe_load(alertmanager_yaml(plan))
    receivers = {r["name"]: r for r in rendered["receivers"]}
    assert receivers["slack"]["slack_configs"][0]["api_url"] == "https://hooks.slack.com/services/T0/B0/abc"
    assert receivers["pagerduty"]["pagerduty_configs"][0]["routing_key"] == "pd-key-123"
    assert rendered["route"]["routes"] == [
        {"matchers": ['alertname=~"Watchdog|InfoInhibitor"'], "receiver": "null"},
        {"matchers": ['severity="critical"'], "receiver": "pagerduty", "continue": True},
        {"receiver": "slack"},
    ]
    # The webhook appears only inside secret values.
    assert text.count("hooks.slack.com") == sum(
        1 for r in plan.resources for v in _secrets(r) if "hooks.slack.com" in v
    )


def _secrets(resource: dict) -> list[str]:
    found = []

    def walk(value):
        if is_secret(value):
            found.append(value["plaintext"])
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(resource.get("inputs", {}))
    walk(resource.get("outputs", {}))
    return found


def test_the_gpu_operator_installs_after_the_monitoring_crds_it_needs(prod_plan: Plan):
    operator = next(
        r for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "gpu-operator"
    )
    stack = next(
        r for r in prod_plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "kube-prometheus-stack"
    )
    assert stack["urn"] in operator["dependencies"]
