"""Observability: metrics, dashboards, alerts and logs for a GPU fleet, switched by the stack config.

kube-prometheus-stack runs on the system pool with Prometheus on an encrypted gp3 volume; it
scrapes the GPU Operator's DCGM exporter through its ServiceMonitor, and kube-state-metrics
exports the cost labels of pods and namespaces and the pool label of nodes, so GPU series can
be attributed to whoever pays. Alerts and recording rules come from gpu_metrics.py, dashboards
from dashboards.py. Fluent Bit ships container logs to CloudWatch Logs through an IRSA role.
Chart versions and values keys are those of the charts at the pinned versions.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml
from gpu_platform.components import dashboards, gpu_metrics, iam
from gpu_platform.components.charts import chart_release
from gpu_platform.components.cluster import DEFAULT_STORAGE_CLASS, Cluster
from gpu_platform.components.config import AlertingConfig, ObservabilityConfig
from gpu_platform.components.irsa import IrsaRole, ServiceAccountBinding
from gpu_platform.components.labels import COST_KEYS, WORKLOAD_TYPE, CostLabels
from gpu_platform.components.node_labels import POOL_LABEL, SYSTEM_LABEL

NAMESPACE = "monitoring"
LOGGING_NAMESPACE = "logging"
PROMETHEUS_STACK = ("kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts")
FLUENT_BIT = ("aws-for-fluent-bit", "0.2.0", "https://aws.github.io/eks-charts")
ALERTMANAGER_SECRET = "alertmanager-gpu-platform"
DASHBOARD_LABEL = "grafana_dashboard"
# Where Prometheus answers queries: the chart names its Service <fullname>-prometheus, the fullname being the
# release name when that contains the chart's name, on prometheus.service.port 9090 (kube-prometheus-stack
# 88.5.3 templates/_helpers.tpl, templates/prometheus/service.yaml, values.yaml).
PROMETHEUS_SERVICE = (f"http://{PROMETHEUS_STACK[0]}-prometheus.{NAMESPACE}.svc", 9090)
GRAFANA_ADMIN_SECRET, GRAFANA_USER_KEY, GRAFANA_PASSWORD_KEY = "grafana-admin", "admin-user", "admin-password"
ON_SYSTEM_POOL = {SYSTEM_LABEL: "true"}
RUNS_EVERYWHERE = [{"operator": "Exists"}]  # node agents must run on tainted GPU nodes too


def kube_state_metrics_allowlist() -> list[str]:
    """Labels kube-state-metrics exports: cost labels of pods and namespaces, the pool of nodes."""
    cost = ",".join((*COST_KEYS, WORKLOAD_TYPE))
    return [f"pods=[{cost}]", f"namespaces=[{cost}]", f"nodes=[{POOL_LABEL}]"]


# Alerts that say "monitoring works" and must never page: Watchdog always fires (a dead man's switch),
# InfoInhibitor fires to silence info alerts (kube-prometheus-stack's general.rules).
ALWAYS_FIRING = ("Watchdog", "InfoInhibitor")


def alertmanager_config(alerting: AlertingConfig) -> dict[str, Any]:
    """Critical alerts page (PagerDuty) and every alert goes to Slack, where configured; else nowhere.

    A child route that matches replaces the root's receiver, so Slack is a catch-all child after
    the paging route (which continues), not the root receiver. Watchdog goes to the dead man's switch
    when one is configured, InfoInhibitor nowhere; a critical alert silences the warning and info alerts of
    the same name and namespace.
    """
    receivers: list[dict[str, Any]] = [{"name": "null"}]
    routes: list[dict[str, Any]] = []
    if alerting.dead_mans_switch_url is not None:
        receivers.append(
            {
                "name": "deadmansswitch",
                "webhook_configs": [{"url": alerting.dead_mans_switch_url.get_secret_value(), "send_resolved": False}],
            }
        )
        routes.append(
            {
                "matchers": ['alertname="Watchdog"'],
                "receiver": "deadmansswitch",
                "group_wait": "0s",
                "group_interval": "1m",
                "repeat_interval": "1m",
            }
        )
    routes.append({"matchers": [f'alertname=~"{"|".join(ALWAYS_FIRING)}"'], "receiver": "null"})
    if alerting.pagerduty_routing_key is not None:
        receivers.append(
            {
                "name": "pagerduty",
                "pagerduty_configs": [
                    {"routing_key": alerting.pagerduty_routing_key.get_secret_value(), "send_resolved": True}
                ],
            }
        )
        routes.append({"matchers": ['severity="critical"'], "receiver": "pagerduty", "continue": True})
    if alerting.slack_webhook_url is not None:
        receivers.append(
            {
                "name": "slack",
                "slack_configs": [
                    {
                        "api_url": alerting.slack_webhook_url.get_secret_value(),
                        "channel": alerting.slack_channel,
                        "send_resolved": True,
                        "title": "{{ .CommonAnnotations.summary }}",
                        "text": "{{ range .Alerts }}{{ .Annotations.runbook }}\n{{ end }}",
                    }
                ],
            }
        )
        routes.append({"receiver": "slack"})
    route = {
        "receiver": "null",
        "group_by": ["alertname", "node", "namespace"],
        "group_wait": "30s",
        "group_interval": "5m",
        "repeat_interval": "4h",
        "routes": routes,
    }
    inhibit = [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": ["namespace", "alertname"],
        },
        {
            "source_matchers": ['severity="warning"'],
            "target_matchers": ['severity="info"'],
            "equal": ["namespace", "alertname"],
        },
        {
            "source_matchers": ['alertname="InfoInhibitor"'],
            "target_matchers": ['severity="info"'],
            "equal": ["namespace"],
        },
    ]
    return {"route": route, "receivers": receivers, "inhibit_rules": inhibit}


# Control-plane components EKS runs and does not expose to scrapes (controller manager, scheduler, etcd),
# and kube-proxy, whose EKS add-on serves metrics on 127.0.0.1:10249 only: their scrapes and the rules
# about them are off, or KubeControllerManagerDown and KubeSchedulerDown (critical) fire for ever
# (prometheus-community/helm-charts#4106; the chart gates each rule group on both switches, hack/sync_prometheus_rules).
UNSCRAPABLE_ON_EKS = {
    "kubeControllerManager": "kubeControllerManager",
    "kubeScheduler": "kubeSchedulerAlerting",
    "kubeEtcd": "etcd",
    "kubeProxy": "kubeProxy",
}


def prometheus_stack_values(config: ObservabilityConfig, pod_labels: dict[str, str]) -> dict[str, Any]:
    volume_gib = config.metrics_volume_gib
    return {
        "crds": {"enabled": True},
        **{component: {"enabled": False} for component in UNSCRAPABLE_ON_EKS},
        "defaultRules": {
            "rules": {**{rules: False for rules in UNSCRAPABLE_ON_EKS.values()}, "kubeSchedulerRecording": False}
        },
        "prometheus": {
            "prometheusSpec": {
                "retention": f"{config.metrics_retention_days}d",
                "retentionSize": f"{int(volume_gib * 0.9)}GB",  # leave headroom before the volume fills
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "storageClassName": DEFAULT_STORAGE_CLASS,
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": f"{volume_gib}Gi"}},
                        }
                    }
                },
                # Pick up every ServiceMonitor and rule, not only this release's (the GPU Operator's DCGM one).
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "nodeSelector": ON_SYSTEM_POOL,
                "podMetadata": {"labels": pod_labels},
            }
        },
        "alertmanager": {
            "alertmanagerSpec": {
                "useExistingSecret": True,
                "configSecret": ALERTMANAGER_SECRET,
                "nodeSelector": ON_SYSTEM_POOL,
                "podMetadata": {"labels": pod_labels},
            }
        },
        "prometheusOperator": {"nodeSelector": ON_SYSTEM_POOL},
        "grafana": {
            "enabled": config.grafana,
            "nodeSelector": ON_SYSTEM_POOL,
            "podLabels": pod_labels,
            # grafana chart values.yaml: admin.existingSecret replaces the chart's generated password.
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET,
                "userKey": GRAFANA_USER_KEY,
                "passwordKey": GRAFANA_PASSWORD_KEY,
            },
            "sidecar": {
                "dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "labelValue": "1", "searchNamespace": "ALL"}
            },
        },
        "kube-state-metrics": {"metricLabelsAllowlist": kube_state_metrics_allowlist(), "nodeSelector": ON_SYSTEM_POOL},
        "prometheus-node-exporter": {"tolerations": RUNS_EVERYWHERE},
    }


def container_log_group_name(cluster_name: str) -> str:
    return f"/aws/eks/{cluster_name}/containers"


class Observability(pulumi.ComponentResource):
    """Prometheus, Alertmanager, Grafana and GPU alerts; Fluent Bit to CloudWatch Logs."""

    log_group_name: pulumi.Output[str] | None
    grafana_admin_password: pulumi.Output[str] | None  # a secret
    crds: list[pulumi.Resource]  # what installs the monitoring CRDs (ServiceMonitor, PrometheusRule)

    def __init__(
        self,
        name: str,
        config: ObservabilityConfig,
        cluster: Cluster,
        region: str,
        labels: CostLabels,
        pod_labels: dict[str, str],
        log_key_arn: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:Observability", name, None, opts)
        self._name, self._cluster, self._pod_labels = name, cluster, pod_labels
        self.log_group_name = None
        self.grafana_admin_password = None
        self.crds = []
        if config.enabled:
            self._metrics(config)
        if config.logs:
            self._logs(config, region, labels, log_key_arn)
        self.register_outputs({"logGroupName": self.log_group_name})

    def _on_cluster(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._cluster.kubernetes, **kwargs)

    def _namespace(self, namespace: str) -> k8s.core.v1.Namespace:
        # Node exporter and Fluent Bit read the host (hostPath, hostNetwork): privileged by nature.
        return k8s.core.v1.Namespace(
            f"{self._name}-{namespace}",
            metadata={
                "name": namespace,
                "labels": {**self._pod_labels, "pod-security.kubernetes.io/enforce": "privileged"},
            },
            opts=self._on_cluster(),
        )

    def _metrics(self, config: ObservabilityConfig) -> None:
        namespace = self._namespace(NAMESPACE)
        in_namespace = self._on_cluster(depends_on=[namespace])
        alertmanager = k8s.core.v1.Secret(
            f"{self._name}-alertmanager",
            metadata={"name": ALERTMANAGER_SECRET, "namespace": NAMESPACE, "labels": self._pod_labels},
            string_data={
                "alertmanager.yaml": pulumi.Output.secret(
                    yaml.safe_dump(alertmanager_config(config.alerting), sort_keys=False)
                )
            },
            opts=in_namespace,
        )
        grafana_admin = [self._grafana_admin(config, in_namespace)] if config.grafana else []
        chart, version, repo = PROMETHEUS_STACK
        stack = chart_release(
            f"{self._name}-prometheus",
            chart,
            version,
            repo,
            NAMESPACE,
            values=prometheus_stack_values(config, self._pod_labels),
            opts=self._on_cluster(
                depends_on=[
                    namespace,
                    alertmanager,
                    *grafana_admin,
                    self._cluster.storage_class,
                    self._cluster.system_nodes,
                ]
            ),
        )
        self.crds = [stack]
        k8s.apiextensions.CustomResource(
            f"{self._name}-gpu-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": "gpu-platform", "namespace": NAMESPACE, "labels": self._pod_labels},
            spec={"groups": gpu_metrics.rule_groups()},
            opts=self._on_cluster(depends_on=[stack]),
        )
        if config.grafana:
            for file_name, body in dashboards.rendered().items():
                board = file_name.removesuffix(".json")
                k8s.core.v1.ConfigMap(
                    f"{self._name}-{board}",
                    metadata={
                        "name": f"dashboard-{board}",
                        "namespace": NAMESPACE,
                        "labels": {**self._pod_labels, DASHBOARD_LABEL: "1"},
                    },
                    data={file_name: body},
                    opts=in_namespace,
                )

    def _grafana_admin(self, config: ObservabilityConfig, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        """Grafana's admin credentials in a Secret the stack owns, so the stack can hand them out (a secret
        output), set them from config and rotate them; the chart's own would be a random password only the
        cluster knows (kube-prometheus-stack dropped its public default `prom-operator` in 79.0.0).
        From config (set with --secret), or generated at deploy time."""
        if config.grafana_admin_password is not None:
            password: pulumi.Output[str] = pulumi.Output.secret(config.grafana_admin_password.get_secret_value())
        else:
            password = random.RandomPassword(
                f"{self._name}-grafana-admin", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
            ).result
        self.grafana_admin_password = pulumi.Output.secret(password)
        return k8s.core.v1.Secret(
            f"{self._name}-grafana-admin",
            metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": NAMESPACE, "labels": self._pod_labels},
            string_data={GRAFANA_USER_KEY: "admin", GRAFANA_PASSWORD_KEY: self.grafana_admin_password},
            opts=opts,
        )

    def _logs(
        self, config: ObservabilityConfig, region: str, labels: CostLabels, key_arn: pulumi.Input[str] | None
    ) -> None:
        """Container logs to a log group of this cluster, kept as long as config says."""
        group_name = container_log_group_name(self._cluster.name)
        log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-containers",
            name=group_name,
            retention_in_days=config.log_retention_days,
            kms_key_id=key_arn,
            tags=labels.aws_tags(f"{self._name}-containers"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        namespace = self._namespace(LOGGING_NAMESPACE)
        shipper = log_group.arn.apply(
            lambda arn: (
                iam.allow(
                    ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    [arn, f"{arn}:*"],
                    sid="ShipContainerLogs",
                ),
            )
        )
        role = IrsaRole(
            f"{self._name}-fluent-bit",
            self._cluster.oidc,
            ServiceAccountBinding(
                LOGGING_NAMESPACE,
                "fluent-bit",
                self._cluster.kubernetes,
                self._pod_labels,
                namespace_resource=namespace,
            ),
            labels,
            statements=shipper,
            description="Fluent Bit ships container logs to CloudWatch Logs",
            opts=pulumi.ResourceOptions(parent=self),
        )
        chart, version, repo = FLUENT_BIT
        chart_release(
            f"{self._name}-fluent-bit",
            chart,
            version,
            repo,
            LOGGING_NAMESPACE,
            values={
                "serviceAccount": {"create": False, "name": "fluent-bit"},
                "cloudWatchLogs": {
                    "enabled": True,
                    "region": region,
                    "logGroupName": group_name,
                    "autoCreateGroup": False,
                    "logStreamPrefix": "pod-",
                },
                "tolerations": RUNS_EVERYWHERE,
            },
            opts=self._on_cluster(depends_on=[role, log_group, self._cluster.system_nodes]),
            release_name="fluent-bit",
        )
        self.log_group_name = log_group.name
