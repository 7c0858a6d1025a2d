"""A model service: vLLM serving one model from the data bucket on one GPU pool, behind an internal ALB.

Why vLLM: an OpenAI-compatible HTTP API over a model folder in Hugging Face layout, a `/health` endpoint for
the probes and Prometheus metrics at `/metrics` (`vllm:num_requests_running`, `vllm:num_requests_waiting`,
...: vllm-project/vllm docs/design/metrics.md), on port 8000. Triton would need a model repository per backend.

The weights come down before the server starts: an init container syncs s3://<bucket>/models/<model>/ with
the service's own IRSA role, which may read that prefix and nothing else (no static keys).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from gpu_platform.components import sharing
from gpu_platform.components.cluster import Cluster
from gpu_platform.components.config import GpuPoolConfig, ServiceConfig, SharingMode
from gpu_platform.components.irsa import IrsaRole, ServiceAccountBinding
from gpu_platform.components.labels import CostLabels
from gpu_platform.components.load_balancer import INGRESS_CLASS
from gpu_platform.components.storage import Storage

# Images, pinned. Their tags were not checked against Docker Hub here (README: named risks).
SERVER_IMAGE = "vllm/vllm-openai:v0.10.2"
DOWNLOAD_IMAGE = "amazon/aws-cli:2.31.0"
PORT = 8000
MODELS = "/models"
# Restricted Pod Security: not root, no privilege escalation, no capabilities, the runtime's seccomp profile.
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
# What the autoscaler reads: requests vLLM has queued because its batch is full, per pod (a gauge; vllm v0.10.2
# vllm/v1/metrics/loggers.py), served to the HPA by the Prometheus Adapter under a name without the colon.
QUEUE_SERIES = "vllm:num_requests_waiting"
QUEUE_METRIC = "vllm_num_requests_waiting"
# The queue is empty whenever vLLM keeps up, so alone it would shrink a busy service to its floor: requests in
# its running batch (same file) hold the size while the load lasts; the HPA takes the larger of the two.
RUNNING_SERIES = "vllm:num_requests_running"
RUNNING_METRIC = "vllm_num_requests_running"
# A new replica may need a new GPU node and minutes of model loading: scale up after a minute of load above the
# targets, two pods at a time; scale down one pod per five minutes, after ten quieter ones (HPA `behavior`).
SCALE_UP = {"stabilizationWindowSeconds": 60, "policies": [{"type": "Pods", "value": 2, "periodSeconds": 120}]}
SCALE_DOWN = {"stabilizationWindowSeconds": 600, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}]}
# What each server asks besides its GPU (the config checks a team's quota holds them at maxReplicas).
SERVER_REQUESTS = {"cpu": "2", "memory": "12Gi"}
# A model loads for minutes (download done, weights to GPU memory, CUDA graphs): the startup probe allows 20.
STARTUP_PERIOD_SECONDS, STARTUP_FAILURES = 10, 120


def gpu_memory_share(pool: GpuPoolConfig) -> float:
    """The share of a GPU's memory vLLM may take: 0.9 (its default) of a whole GPU or MIG slice, that split
    between the pods that time-slice one GPU (each would otherwise claim 90% and all but one would fail)."""
    if pool.sharing.mode == SharingMode.TIME_SLICING and pool.sharing.replicas:
        return round(0.9 / pool.sharing.replicas, 3)
    return 0.9


def pod_spec(service: ServiceConfig, pool: GpuPoolConfig, bucket: str, region: str, account: str) -> dict[str, Any]:
    """The server's pod: the model synced first, then vLLM on the pool's GPU resource, probed on /health."""
    resource = service.gpu_resource(pool)
    model_dir = f"{MODELS}/{service.model}"
    health = {"httpGet": {"path": "/health", "port": "http"}, "timeoutSeconds": 5}  # a busy server answers late
    # The priority classes come with teams (components/tenancy.py): a team's service serves at `inference`.
    priority = {"priorityClassName": "inference"} if service.team is not None else {}
    return {
        "serviceAccountName": account,
        **priority,
        # the load balancer stops sending before the server stops (preStop), in-flight requests finish
        "terminationGracePeriodSeconds": 60,
        "securityContext": {**POD_SECURITY, "seccompProfile": {"type": "RuntimeDefault"}},
        **sharing.pod_placement(pool),
        "initContainers": [
            {
                "name": "download-model",
                "image": DOWNLOAD_IMAGE,
                "command": [
                    "aws",
                    "s3",
                    "sync",
                    "--only-show-errors",
                    f"s3://{bucket}/models/{service.model}/",
                    model_dir,
                ],
                "env": [{"name": "AWS_REGION", "value": region}, {"name": "HOME", "value": "/tmp"}],
                "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
                "securityContext": CONTAINER_SECURITY,
                "volumeMounts": [{"name": "models", "mountPath": MODELS}, {"name": "tmp", "mountPath": "/tmp"}],
            }
        ],
        "containers": [
            {
                "name": "server",
                "image": SERVER_IMAGE,
                "args": [
                    "--model",
                    model_dir,
                    "--served-model-name",
                    service.model,
                    "--port",
                    str(PORT),
                    "--gpu-memory-utilization",
                    str(gpu_memory_share(pool)),
                ],
                # As uid 1000 the image has no passwd entry: USER keeps getpass.getuser() (PyTorch's caches)
                # from failing; every cache in /tmp; no usage reports leave through the HTTPS egress.
                "env": [
                    {"name": "HOME", "value": "/tmp"},
                    {"name": "USER", "value": "vllm"},
                    {"name": "HF_HOME", "value": "/tmp/hf"},
                    {"name": "TORCHINDUCTOR_CACHE_DIR", "value": "/tmp/inductor"},
                    {"name": "HF_HUB_OFFLINE", "value": "1"},
                    {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
                    {"name": "DO_NOT_TRACK", "value": "1"},
                ],
                "ports": [{"name": "http", "containerPort": PORT}],
                # the GPU resource as a limit (its request follows), CPU and memory requested
                "resources": {
                    "requests": SERVER_REQUESTS,
                    "limits": {"memory": SERVER_REQUESTS["memory"], resource: 1},
                },
                "startupProbe": {
                    **health,
                    "periodSeconds": STARTUP_PERIOD_SECONDS,
                    "failureThreshold": STARTUP_FAILURES,
                },
                "readinessProbe": {**health, "periodSeconds": 10, "failureThreshold": 3},
                "livenessProbe": {**health, "periodSeconds": 20, "failureThreshold": 5},
                "lifecycle": {"preStop": {"sleep": {"seconds": 15}}},
                "securityContext": CONTAINER_SECURITY,
                "volumeMounts": [
                    {"name": "models", "mountPath": MODELS, "readOnly": True},
                    {"name": "tmp", "mountPath": "/tmp"},
                    {"name": "shm", "mountPath": "/dev/shm"},  # vLLM's workers share tensors through it
                ],
            }
        ],
        "volumes": [
            {"name": "models", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}},
        ],
    }


def pod_metric_target(metric: str, per_pod: int) -> dict[str, Any]:
    return {
        "type": "Pods",
        "pods": {"metric": {"name": metric}, "target": {"type": "AverageValue", "averageValue": str(per_pod)}},
    }


def autoscaler_spec(service: ServiceConfig) -> dict[str, Any]:
    """An autoscaling/v2 HPA on the Deployment: between `replicas` and `maxReplicas` pods, as many as keep the
    queue at `waitingRequestsPerReplica` and the running batch at `runningRequestsPerReplica` per pod."""
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name},
        "minReplicas": service.replicas,
        "maxReplicas": service.most_replicas,
        "metrics": [
            pod_metric_target(QUEUE_METRIC, service.waiting_requests_per_replica),
            pod_metric_target(RUNNING_METRIC, service.running_requests_per_replica),
        ],
        "behavior": {"scaleUp": SCALE_UP, "scaleDown": SCALE_DOWN},
    }


class InferenceService(pulumi.ComponentResource):
    """A Deployment of vLLM with its role, Service, disruption budget, internal ALB Ingress, scrape and autoscaler."""

    def __init__(
        self,
        name: str,
        service: ServiceConfig,
        pool: GpuPoolConfig,
        namespace: str,
        namespace_resource: pulumi.Resource,
        cluster: Cluster,
        storage: Storage,
        region: str,
        labels: dict[str, str],
        vpc_cidr: str,
        monitored: bool,
        load_balancer_controller: pulumi.Resource,
        metrics_adapter: pulumi.Resource | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:InferenceService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.kubernetes, depends_on=[namespace_resource])
        selector = {"app.kubernetes.io/name": service.name}
        pod_labels = {**labels, **selector}
        account = f"{service.name}-server"
        role = IrsaRole(
            f"{name}-role",
            cluster.oidc,
            ServiceAccountBinding(
                namespace, account, cluster.kubernetes, labels, namespace_resource=namespace_resource
            ),
            CostLabels(labels["cost-center"], labels["product"], labels["environment"]),
            description=f"Model service {namespace}/{service.name} reads models/{service.model}/",
            opts=child,
        )
        storage.grant_read(role, prefix=f"models/{service.model}/")
        metadata = {"name": service.name, "namespace": namespace, "labels": pod_labels}
        spec = storage.bucket_name.apply(lambda bucket: pod_spec(service, pool, bucket, region, account))
        k8s.apps.v1.Deployment(
            name,
            # When autoscaling is switched off, Pulumi takes spec.replicas back from the HPA's field manager:
            # without force, server-side apply refuses that as a conflict (pulumi-kubernetes, patchForce).
            metadata={**metadata, "annotations": {"pulumi.com/patchForce": "true"}},
            spec={
                "replicas": service.replicas,
                # No spare GPU for a surge pod (the config lets services fill their pool and quota): a rollout
                # replaces one pod at a time, as the PodDisruptionBudget allows.
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
                "selector": {"matchLabels": selector},
                "template": {"metadata": {"labels": pod_labels}, "spec": spec},
            },
            # An autoscaled Deployment's size is the HPA's after creation: Pulumi must not reset it on each update.
            # Dropping `replicas` instead would set it to 1 once (Kubernetes docs, "Migrating Deployments and
            # StatefulSets to horizontal autoscaling"); ignored, pulumi-kubernetes's server-side apply sends the
            # live value or leaves the field to its other manager (provider/pkg/await/await.go handleSSAIgnoreFields).
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=cluster.kubernetes,
                depends_on=[namespace_resource, role],
                ignore_changes=["spec.replicas"] if service.autoscaled else None,
            ),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata,
            spec={"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
            opts=on_cluster,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=metadata,
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
            opts=on_cluster,
        )
        # Class alb: internal by the class's parameters (components/load_balancer.py); pods as targets.
        k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={
                **metadata,
                # controller docs/guide/ingress/annotations.md: long completions need more than the ALB's 60 s
                # idle timeout; targets drain for 30 s (the pod's preStop waits 15, its grace is 60)
                "annotations": {
                    "alb.ingress.kubernetes.io/target-type": "ip",
                    "alb.ingress.kubernetes.io/healthcheck-path": "/health",
                    "alb.ingress.kubernetes.io/load-balancer-attributes": "idle_timeout.timeout_seconds=600",
                    "alb.ingress.kubernetes.io/target-group-attributes": "deregistration_delay.timeout_seconds=30",
                },
            },
            spec={
                "ingressClassName": INGRESS_CLASS,
                "rules": [
                    {
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": service.name, "port": {"name": "http"}}},
                                }
                            ]
                        }
                    }
                ],
            },
            # the controller's webhook judges Ingresses of its class: it must be running first
            opts=pulumi.ResourceOptions(
                parent=self, provider=cluster.kubernetes, depends_on=[namespace_resource, load_balancer_controller]
            ),
        )
        # A team namespace denies all ingress by default: the ALB reaches the pods from the VPC's addresses.
        if service.team is not None:
            k8s.networking.v1.NetworkPolicy(
                f"{name}-from-load-balancer",
                metadata={**metadata, "name": f"{service.name}-from-load-balancer"},
                spec={
                    "podSelector": {"matchLabels": selector},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {"from": [{"ipBlock": {"cidr": vpc_cidr}}], "ports": [{"protocol": "TCP", "port": PORT}]}
                    ],
                },
                opts=on_cluster,
            )
        if monitored:
            k8s.apiextensions.CustomResource(
                f"{name}-metrics",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata=metadata,
                spec={
                    "selector": {"matchLabels": selector},
                    "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
                },
                opts=on_cluster,
            )
        if service.autoscaled:
            if metrics_adapter is None:
                raise ValueError(f"service {service.name} autoscales: it needs the metrics adapter")
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-autoscaler",
                metadata=metadata,
                spec=autoscaler_spec(service),
                opts=pulumi.ResourceOptions(
                    parent=self, provider=cluster.kubernetes, depends_on=[namespace_resource, metrics_adapter]
                ),
            )
        self.register_outputs({"namespace": namespace, "service": service.name})
