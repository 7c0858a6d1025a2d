"""The Prometheus Adapter: model servers' own metrics, from Prometheus, as custom metrics a HorizontalPodAutoscaler
reads (the `custom.metrics.k8s.io` API).

Facts, each from its source:
- The chart is prometheus-community/helm-charts prometheus-adapter 5.3.0 (appVersion v0.12.0); every key set
  below is in its values.yaml (copied into tests/upstream/prometheus-adapter/).
- It registers the APIService v1beta1.custom.metrics.k8s.io when `rules.default` or `rules.custom` is set
  (templates/custom-metrics-apiservice.yaml) and serves what its rules name (templates/configmap.yaml).
- The chart's default rules turn every cAdvisor and application series into a metric and relist them each
  minute; the platform lists only the metrics its autoscalers read (`rules.default: false`).
- A rule's `<<.Series>>`, `<<.LabelMatchers>>` and `<<.GroupBy>>` are filled by the adapter per request
  (kubernetes-sigs/prometheus-adapter docs/config.md); the series must carry `namespace` and `pod`, which
  the Prometheus Operator adds to every target of a ServiceMonitor.
"""

from __future__ import annotations

from typing import Any

import pulumi
from gpu_platform.components.charts import chart_release
from gpu_platform.components.node_labels import SYSTEM_LABEL

CHART = ("prometheus-adapter", "5.3.0", "https://prometheus-community.github.io/helm-charts")
# The chart's pod labels (templates/_helpers.tpl selectorLabels: its name, and the release, named as the chart).
SELECTOR = {"app.kubernetes.io/name": CHART[0], "app.kubernetes.io/instance": CHART[0]}


def pod_metric(series: str, name: str) -> dict[str, Any]:
    """A rule that serves Prometheus gauge `series` as the per-pod custom metric `name`."""
    return {
        "seriesQuery": f'{series}{{namespace!="",pod!=""}}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": f"^{series}$", "as": name},
        "metricsQuery": "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
    }


def chart_values(prometheus_url: str, prometheus_port: int, rules: list[dict[str, Any]], pod_labels: dict[str, str]):
    """The chart's values: two replicas spread over the system pool (the HPAs stop scaling while it is away), the
    rules."""
    return {
        "prometheus": {"url": prometheus_url, "port": prometheus_port},
        "replicas": 2,
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        "nodeSelector": {SYSTEM_LABEL: "true"},
        # on two system nodes where there are two, and not first to go: without it every HPA stops
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": SELECTOR},
            }
        ],
        "priorityClassName": "system-cluster-critical",
        "podLabels": pod_labels,
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "rules": {"default": False, "custom": rules},
    }


class MetricsAdapter(pulumi.ComponentResource):
    """The adapter's Helm release in the monitoring namespace; HorizontalPodAutoscalers depend on it."""

    release: pulumi.Resource

    def __init__(
        self,
        name: str,
        namespace: str,
        prometheus: tuple[str, int],
        rules: list[dict[str, Any]],
        pod_labels: dict[str, str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("gpu-platform:index:MetricsAdapter", name, None, opts)
        chart, version, repository = CHART
        self.release = chart_release(
            name,
            chart,
            version,
            repository,
            namespace,
            values=chart_values(*prometheus, rules, pod_labels),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=self)),
        )
        self.register_outputs({})
