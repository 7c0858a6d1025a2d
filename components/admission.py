"""Admission: Gatekeeper in the cluster, holding what kubectl, charts and operators create to the pack's rules.

The policy pack reviews what the program declares; it cannot see a chart's rendered pod template nor a pod an
operator makes. Each Kubernetes rule of the pack also exists as Rego (policies/rego/), run here by Gatekeeper
as a ConstraintTemplate and one Constraint, and in the tests by a Rego engine over the rule's shared cases.

Facts, from Gatekeeper v3.23.0 (open-policy-agent/gatekeeper, charts/gatekeeper and website/docs):
- Rego v1 templates: `targets[].code[{engine: Rego, source: {version: "v1", rego, libs}}]` (since 3.19,
  docs/constrainttemplates.md); libraries live under `data.lib` (frameworks drivers/rego/driver.go libRoot).
- A template's `status.created` turns true once its Constraint CRD exists (pkg/controller/
  constrainttemplatestatus); pulumi-kubernetes waits for it through `pulumi.com/waitFor` (provider
  metadata/overrides.go ReadyCondition), so a Constraint is created only after its kind exists.
- The chart always exempts its own namespace from the webhook (`--exempt-namespace={{ .Release.Namespace }}`),
  which then carries `admission.gatekeeper.sh/ignore` (docs/exempt-namespaces.md).
- The webhook's failure policy stays the chart's `Ignore`: a Gatekeeper outage admits, and the audit (every
  60 s) lists what got through in each Constraint's status. README: named risks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from gpu_platform.components import sharing
from gpu_platform.components.charts import chart_release
from gpu_platform.components.config import AdmissionEnforcement, GpuPoolConfig, WorkloadType
from gpu_platform.components.gpu_metrics import Alert, alert_rule
from gpu_platform.components.labels import COST_KEYS, WORKLOAD_TYPE
from gpu_platform.components.node_labels import SYSTEM_LABEL
from gpu_platform.components.pod_security import RESTRICTED

CHART = "gatekeeper"
CHART_VERSION = "3.23.0"  # open-policy-agent/gatekeeper tag v3.23.0 (2026-07-08)
CHART_REPOSITORY = "https://open-policy-agent.github.io/gatekeeper/charts"
NAMESPACE = "gatekeeper-system"
REGO_DIR = Path(__file__).resolve().parent.parent / "policies" / "rego"
LIBS = ("lib/workloads.rego",)
TARGET = "admission.k8s.gatekeeper.sh"
WAIT_FOR_CRD = {"pulumi.com/waitFor": "jsonpath={.status.created}=true"}
# Namespaces no Constraint judges: what runs there is made by EKS, charts or operators whose pod templates the
# platform does not write label for label, and none of it asks for a GPU.
EXEMPT_NAMESPACES = {
    "kube-system": "EKS add-ons (CoreDNS, VPC CNI, kube-proxy) and the cluster autoscaler",
    "kube-public": "nothing runs there",
    "kube-node-lease": "node heartbeats only",
    NAMESPACE: "Gatekeeper itself (the chart exempts it from the webhook)",
    "gpu-operator": "the device plugin, DCGM and MIG manager daemonsets the operator creates",
    "monitoring": "Prometheus, Alertmanager, Grafana and exporters from kube-prometheus-stack",
    "logging": "Fluent Bit",
}
# What a Constraint matches: every kind with a pod template, and pods themselves (what controllers create).
MATCH_KINDS = [
    {"apiGroups": [""], "kinds": ["Pod"]},
    {"apiGroups": ["apps"], "kinds": ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]},
    {"apiGroups": ["batch"], "kinds": ["Job", "CronJob"]},
]
_STRINGS = {"type": "array", "items": {"type": "string"}}
# The PodMonitor's scrape job: prometheus-operator names it <namespace>/<PodMonitor name> (promcfg.go).
GATEKEEPER_JOB = f"{NAMESPACE}/gatekeeper"
ALERTS = (
    Alert(
        "GatekeeperDown",
        f'absent(up{{job="{GATEKEEPER_JOB}"}} == 1)',
        "5m",
        "critical",
        "No Gatekeeper pod can be scraped: admission may not be judging",
        "While the webhook is down the API server admits workloads unjudged (failurePolicy Ignore) and refuses "
        "namespace changes (the chart's check-ignore-label webhook fails closed), so `pulumi up` cannot add a "
        "team. Check the pods: kubectl -n gatekeeper-system get pods; kubectl -n gatekeeper-system logs "
        "deploy/gatekeeper-controller-manager.",
    ),
    Alert(
        "GatekeeperAuditFoundDeniedObjects",
        'sum(gatekeeper_violations{enforcement_action="deny"}) > 0',
        "30m",
        "warning",
        "{{ $value }} objects in the cluster break a deny Constraint",
        "They got in while Gatekeeper was down or before the Constraint existed. `kubectl get constraints` "
        "counts them per rule and each Constraint's status.violations names them (up to 20); fix the workload "
        "(its pod template) or delete it.",
    ),
)


@dataclass(frozen=True)
class AdmissionRule:
    """One rule of the pack as Gatekeeper runs it: its Rego, the kind of its Constraint, its parameters."""

    name: str  # the pack's rule, and the Constraint's name (Gatekeeper prefixes every denial with it)
    rego: str  # policies/rego/<rego>.rego
    kind: str  # the Constraint kind; the template is named after it in lower case, as Gatekeeper requires
    parameters_schema: dict[str, Any]


RULES = (
    AdmissionRule(
        "workload-labels",
        "workload_labels",
        "GpuPlatformWorkloadLabels",
        {"requiredLabels": _STRINGS, "workloadTypes": _STRINGS},
    ),
    AdmissionRule("gpu-requests-and-limits", "gpu_requests_and_limits", "GpuPlatformGpuRequestsAndLimits", {}),
    AdmissionRule(
        "gpu-placement",
        "gpu_placement",
        "GpuPlatformGpuPlacement",
        {
            "pools": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "taints": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {k: {"type": "string"} for k in ("key", "value", "effect")},
                            },
                        },
                        "advertised": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"resource": {"type": "string"}, "count": {"type": "integer"}},
                            },
                        },
                    },
                },
            }
        },
    ),
    AdmissionRule("gpu-namespaces", "gpu_namespaces", "GpuPlatformGpuNamespaces", {}),
)


def rego_source(rule: AdmissionRule) -> dict[str, Any]:
    """The template's Rego source, as Gatekeeper reads it: the rule's module and the shared libraries."""
    return {
        "version": "v1",
        "rego": (REGO_DIR / f"{rule.rego}.rego").read_text(),
        "libs": [(REGO_DIR / lib).read_text() for lib in LIBS],
    }


def constraint_template(rule: AdmissionRule, labels: dict[str, str]) -> dict[str, Any]:
    """A templates.gatekeeper.sh/v1 ConstraintTemplate: the Constraint kind, its parameters' schema, the Rego."""
    return {
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": rule.kind.lower(), "labels": labels, "annotations": WAIT_FOR_CRD},
        "spec": {
            "crd": {
                "spec": {
                    "names": {"kind": rule.kind},
                    "validation": {"openAPIV3Schema": {"type": "object", "properties": rule.parameters_schema}},
                }
            },
            "targets": [{"target": TARGET, "code": [{"engine": "Rego", "source": rego_source(rule)}]}],
        },
    }


def parameters(rule: AdmissionRule, pools: Sequence[GpuPoolConfig]) -> dict[str, Any]:
    """A Constraint's parameters, from the same config the program builds the stack from."""
    if rule.name == "workload-labels":
        return {"requiredLabels": [*COST_KEYS, WORKLOAD_TYPE], "workloadTypes": [t.value for t in WorkloadType]}
    if rule.name == "gpu-placement":
        return {
            "pools": [
                {
                    "name": pool.name,
                    "taints": [sharing.taint(pool)],
                    "advertised": [
                        {"resource": resource, "count": count}
                        for resource, count in sorted(sharing.advertised(pool).items())
                    ],
                }
                for pool in pools
            ]
        }
    return {}


def constraint(
    rule: AdmissionRule, enforcement: AdmissionEnforcement, pools: Sequence[GpuPoolConfig], labels: dict[str, str]
) -> dict[str, Any]:
    """The rule's one Constraint: what it matches, which namespaces it leaves alone, deny or only record."""
    return {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": rule.kind,
        "metadata": {"name": rule.name, "labels": labels},
        "spec": {
            "enforcementAction": enforcement.value,
            "match": {"kinds": MATCH_KINDS, "excludedNamespaces": sorted(EXEMPT_NAMESPACES)},
            "parameters": parameters(rule, pools),
        },
    }


def rule_groups() -> list[dict[str, Any]]:
    """Prometheus rule groups, in the format of a rules file and of a PrometheusRule's spec."""
    return [{"name": "gpu-platform.admission", "rules": [alert_rule(a) for a in ALERTS]}]


def chart_values(pod_labels: dict[str, str]) -> dict[str, Any]:
    """Every Gatekeeper pod and hook job on the system pool; denials logged (a controller's refused pod also
    shows as a FailedCreate event on its ReplicaSet or Job)."""
    on_system = {"nodeSelector": {"kubernetes.io/os": "linux", SYSTEM_LABEL: "true"}}
    return {
        "podLabels": pod_labels,
        "auditMatchKindOnly": True,  # audit only the kinds the Constraints match, not every kind in the cluster
        "logDenies": True,
        "controllerManager": on_system,
        "audit": on_system,
        "crds": on_system,  # also the CRD upgrade hook's
        "preUninstall": on_system,
        "postUpgrade": on_system,
        # The namespace is the platform's, labelled below: the chart's labelling job is not needed.
        "postInstall": {**on_system, "labelNamespace": {"enabled": False}},
    }


class Admission(pulumi.ComponentResource):
    """Gatekeeper's release, a ConstraintTemplate and a Constraint per rule, and the scrape of its metrics."""

    def __init__(
        self,
        name: str,
        pools: Sequence[GpuPoolConfig],
        enforcement: AdmissionEnforcement,
        kubernetes: k8s.Provider,
        labels: dict[str, str],
        pod_labels: dict[str, str],
        monitoring_crds: Sequence[pulumi.Resource] | None,
        after: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:Admission", name, None, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=kubernetes)
        namespace = k8s.core.v1.Namespace(
            name,
            metadata={
                "name": NAMESPACE,
                # the webhook skips its own namespace (the chart passes --exempt-namespace for it)
                "labels": {**labels, **RESTRICTED, "admission.gatekeeper.sh/ignore": "gatekeeper-itself"},
            },
            opts=on_cluster,
        )
        release = chart_release(
            name,
            CHART,
            CHART_VERSION,
            CHART_REPOSITORY,
            NAMESPACE,
            values=chart_values(pod_labels),
            opts=pulumi.ResourceOptions(parent=self, provider=kubernetes, depends_on=[namespace, *after]),
        )
        if monitoring_crds is not None:
            k8s.apiextensions.CustomResource(
                f"{name}-rules",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata={"name": "gatekeeper", "namespace": NAMESPACE, "labels": labels},
                spec={"groups": rule_groups()},
                opts=pulumi.ResourceOptions(parent=self, provider=kubernetes, depends_on=[namespace, *monitoring_crds]),
            )
            k8s.apiextensions.CustomResource(
                f"{name}-metrics",
                api_version="monitoring.coreos.com/v1",
                kind="PodMonitor",
                metadata={"name": "gatekeeper", "namespace": NAMESPACE, "labels": labels},
                spec={
                    # both the webhook and the audit pods carry it; each serves on its `metrics` port (8888)
                    "selector": {"matchLabels": {"gatekeeper.sh/system": "yes"}},
                    "podMetricsEndpoints": [{"port": "metrics", "interval": "30s"}],
                },
                opts=pulumi.ResourceOptions(parent=self, provider=kubernetes, depends_on=[release, *monitoring_crds]),
            )

        def apply(resource_name: str, manifest: dict[str, Any], after: pulumi.Resource) -> pulumi.Resource:
            """A custom resource from its manifest, created once `after` is."""
            return k8s.apiextensions.CustomResource(
                resource_name,
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self, provider=kubernetes, depends_on=[after]),
            )

        for rule in RULES:
            created = apply(f"{name}-{rule.name}-template", constraint_template(rule, labels), release)
            apply(f"{name}-{rule.name}", constraint(rule, enforcement, pools, labels), created)
        self.register_outputs({"namespace": NAMESPACE, "enforcement": enforcement.value})
