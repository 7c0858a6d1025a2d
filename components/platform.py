"""Platform: the one composition root, built from a validated PlatformConfig.

`__main__.py` and inline Automation API programs both build this, so a stack
is the same whichever way it is run.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random
from gpu_platform.components import inference as serving
from gpu_platform.components import observability as monitoring
from gpu_platform.components import sharing
from gpu_platform.components.admission import Admission
from gpu_platform.components.autoscaler import ClusterAutoscaler
from gpu_platform.components.cluster import Cluster, control_plane_log_group_name
from gpu_platform.components.config import GpuPoolConfig, PlatformConfig, WorkloadType
from gpu_platform.components.efa import efa_device_plugin
from gpu_platform.components.gpu_operator import GpuOperator
from gpu_platform.components.gpu_pool import GpuPool
from gpu_platform.components.inference import InferenceService
from gpu_platform.components.irsa import IrsaRole, ServiceAccountBinding
from gpu_platform.components.labels import COST_CENTER, PRODUCT, CostLabels
from gpu_platform.components.load_balancer import LoadBalancerController
from gpu_platform.components.log_encryption import log_group_key
from gpu_platform.components.metrics_adapter import MetricsAdapter, pod_metric
from gpu_platform.components.network import Network, flow_log_group_name
from gpu_platform.components.observability import Observability, container_log_group_name
from gpu_platform.components.pod_security import RESTRICTED
from gpu_platform.components.storage import Storage
from gpu_platform.components.tenancy import POOLS_ANNOTATION, READINESS_GATES, Tenancy

INFERENCE_NAMESPACE = "inference"
# Model servers need no host access: a GPU reaches a pod through the device plugin, not privilege. The
# namespace enforces the restricted Pod Security Standard (non-root, no privilege escalation, capabilities
# dropped, a seccomp profile); audit and warn say the same to whoever applies a pod.
MODEL_SERVER_ACCOUNT = "model-server"
MODELS_PREFIX = "models/"


class Platform(pulumi.ComponentResource):
    """A GPU inference platform: network, cluster, GPU pools, storage, roles for its workloads."""

    network: Network
    cluster: Cluster
    gpu_pools: list[GpuPool]
    gpu_operator: GpuOperator | None
    storage: Storage
    observability: Observability
    tenancy: Tenancy | None
    admission: Admission | None
    load_balancer_controller: LoadBalancerController
    model_server_role: IrsaRole

    def __init__(self, name: str, config: PlatformConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:Platform", name, None, opts)
        labels = CostLabels.of(config)
        pod_labels = labels.k8s_labels(WorkloadType.INFERENCE)
        # Every AWS resource below uses this provider: one region, and cost tags by default.
        aws_provider = aws.Provider(
            f"{name}-aws",
            region=config.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=labels.base()),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Generated secrets (Grafana's admin password) come from an explicit provider too: no default providers.
        random_provider = random.Provider(f"{name}-random", opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, providers={"aws": aws_provider, "random": random_provider})

        log_groups = [
            control_plane_log_group_name(f"{name}-cluster"),
            *([flow_log_group_name(f"{name}-network")] if config.network.flow_logs.enabled else []),
            *([container_log_group_name(f"{name}-cluster")] if config.observability.logs else []),
        ]
        log_key_arn = log_group_key(
            f"{name}-logs",
            config.region,
            log_groups,
            labels,
            protect=config.storage.protect,
            provider=aws_provider,
            opts=child,
        ).arn
        self.network = Network(f"{name}-network", config.network, config.region, labels, log_key_arn, opts=child)
        self.cluster = Cluster(
            f"{name}-cluster",
            config.cluster,
            self.network.vpc_id,
            self.network.private_subnet_ids,
            labels,
            protect=config.storage.protect,
            log_key_arn=log_key_arn,
            log_retention_days=config.observability.log_retention_days,
            opts=child,
        )
        self.observability = Observability(
            f"{name}-observability",
            config.observability,
            self.cluster,
            config.region,
            labels,
            pod_labels,
            log_key_arn,
            opts=child,
        )
        # The operator creates the DCGM ServiceMonitor only if its CRD exists: install it after the stack's CRDs.
        self.gpu_operator = (
            GpuOperator(
                f"{name}-gpu-operator",
                list(config.gpu_pools),
                self.cluster.kubernetes,
                service_monitor=config.observability.enabled,
                pod_labels=pod_labels,
                after=[self.cluster.system_nodes, *self.observability.crds],
                opts=child,
            )
            if config.gpu_pools
            else None
        )
        # A pool's nodes are (re)labelled with its config entries only once the ConfigMaps hold them.
        sharing_configs = self.gpu_operator.configmaps if self.gpu_operator else []
        self.gpu_pools = [
            GpuPool(
                f"{name}-{pool.name}",
                pool,
                self.cluster,
                self._subnets_of(pool),
                labels,
                autoscaled=config.cluster.autoscaler,
                configs=sharing_configs,
                opts=child,
            )
            for pool in config.gpu_pools
        ]
        if any(pool.efa for pool in config.gpu_pools):
            efa_device_plugin(
                f"{name}-efa-device-plugin",
                self.cluster.kubernetes,
                pod_labels,
                pulumi.ResourceOptions(parent=self, depends_on=[self.cluster.system_nodes]),
            )
        if config.cluster.autoscaler:
            ClusterAutoscaler(
                f"{name}-autoscaler",
                self.cluster,
                self.gpu_pools,
                config.region,
                config.cluster.kubernetes_version,
                labels,
                pod_labels,
                opts=child,
            )
        self.tenancy = (
            Tenancy(
                f"{name}-tenancy",
                config.teams,
                {resource for pool in config.gpu_pools for resource in sharing.advertised(pool)},
                self.cluster,
                labels,
                opts=child,
            )
            if config.teams
            else None
        )
        # What kubectl, charts and operators create meets the pack's Kubernetes rules at the API server.
        self.admission = (
            Admission(
                f"{name}-admission",
                config.gpu_pools,
                config.admission.enforcement,
                self.cluster.kubernetes,
                labels.base(),
                pod_labels,
                monitoring_crds=self.observability.crds if config.observability.enabled else None,
                after=[self.cluster.system_nodes],
                opts=child,
            )
            if config.admission.enabled
            else None
        )
        # Internal load balancers for Ingresses of class `alb` (model services publish through them).
        self.load_balancer_controller = LoadBalancerController(
            f"{name}-lb-controller",
            self.cluster,
            self.network.vpc_id,
            config.region,
            labels,
            pod_labels,
            monitoring_crds=self.observability.crds if config.observability.enabled else None,
            opts=child,
        )
        bucket_prefix = config.storage.prefix_for(pulumi.get_project(), pulumi.get_stack())
        self.storage = Storage(f"{name}-storage", config.storage, bucket_prefix, config.region, labels, opts=child)

        # Workload identities: each service account gets exactly the access it needs.
        inference = k8s.core.v1.Namespace(
            f"{name}-{INFERENCE_NAMESPACE}",
            metadata={
                "name": INFERENCE_NAMESPACE,
                "labels": {**pod_labels, **RESTRICTED, **READINESS_GATES},
                # the platform's own serving may use every pool (admission: gpu-namespaces)
                "annotations": {POOLS_ANNOTATION: ",".join(p.name for p in config.gpu_pools)},
            },
            opts=pulumi.ResourceOptions(parent=self, provider=self.cluster.kubernetes),
        )
        self.model_server_role = IrsaRole(
            f"{name}-{MODEL_SERVER_ACCOUNT}",
            self.cluster.oidc,
            ServiceAccountBinding(
                INFERENCE_NAMESPACE,
                MODEL_SERVER_ACCOUNT,
                self.cluster.kubernetes,
                pod_labels,
                namespace_resource=inference,
            ),
            labels,
            description="Model servers read model weights from the platform bucket",
            opts=child,
        )
        self.storage.grant_read(self.model_server_role, prefix=MODELS_PREFIX)
        self.services = self._services(name, config, labels, pod_labels, inference, child)
        self.register_outputs(self.outputs())

    def _services(
        self,
        name: str,
        config: PlatformConfig,
        labels: CostLabels,
        pod_labels: dict[str, str],
        inference: k8s.core.v1.Namespace,
        opts: pulumi.ResourceOptions,
    ) -> list[InferenceService]:
        """Each model service, in its team's namespace (with the team's cost labels) or in `inference`."""
        namespaces = {INFERENCE_NAMESPACE: inference, **(self.tenancy.namespaces if self.tenancy else {})}
        # The config allows autoscaled services only with observability on: the adapter reads Prometheus.
        self.metrics_adapter = (
            MetricsAdapter(
                f"{name}-metrics-adapter",
                monitoring.NAMESPACE,
                monitoring.PROMETHEUS_SERVICE,
                [
                    pod_metric(serving.QUEUE_SERIES, serving.QUEUE_METRIC),
                    pod_metric(serving.RUNNING_SERIES, serving.RUNNING_METRIC),
                ],
                pod_labels,
                opts=pulumi.ResourceOptions.merge(
                    opts,
                    pulumi.ResourceOptions(
                        provider=self.cluster.kubernetes,
                        depends_on=[*self.observability.crds, self.cluster.system_nodes],
                    ),
                ),
            )
            if any(s.autoscaled for s in config.services)
            else None
        )
        teams = {t.name: t for t in config.teams}
        pools = {p.name: p for p in config.gpu_pools}
        services = []
        for service in config.services:
            namespace = service.team or INFERENCE_NAMESPACE
            team = teams.get(namespace)
            service_labels = {
                **pod_labels,
                **({COST_CENTER: team.cost_center or labels.cost_center} if team else {}),
                **({PRODUCT: team.product or labels.product} if team else {}),
            }
            services.append(
                InferenceService(
                    f"{name}-{namespace}-{service.name}",
                    service,
                    pools[service.pool],
                    namespace,
                    namespaces[namespace],
                    self.cluster,
                    self.storage,
                    config.region,
                    service_labels,
                    config.network.vpc_cidr,
                    monitored=config.observability.enabled,
                    load_balancer_controller=self.load_balancer_controller.release,
                    metrics_adapter=self.metrics_adapter.release if self.metrics_adapter else None,
                    opts=opts,
                )
            )
        return services

    def _subnets_of(self, pool: GpuPoolConfig) -> pulumi.Input[list[str]]:
        """Every private subnet, or the one of the pool's AZ (a Capacity Block's, an EFA pool's)."""
        if pool.availability_zone is None:
            return self.network.private_subnet_ids
        return self.network.private_subnets_in(
            pool.availability_zone, f"platform.gpuPools[{pool.name}].availabilityZone"
        )

    def outputs(self) -> dict[str, pulumi.Output]:
        """The stack outputs other services read (camelCase, as `pulumi stack output` shows them)."""
        grafana = self.observability.grafana_admin_password
        return {
            **({"grafanaAdminPassword": grafana} if grafana is not None else {}),
            "vpcId": self.network.vpc_id,
            "privateSubnetIds": self.network.private_subnet_ids,
            "publicSubnetIds": self.network.public_subnet_ids,
            "availabilityZones": self.network.availability_zones,
            "clusterName": pulumi.Output.from_input(self.cluster.name),
            "kubeconfig": self.cluster.kubeconfig,
            "oidcProviderArn": pulumi.Output.from_input(self.cluster.oidc.arn),
            "gpuPools": pulumi.Output.from_input(
                {pool.config.name: {"advertised": pool.advertised, **pool.placement} for pool in self.gpu_pools}
            ),
            "bucketName": self.storage.bucket_name,
            "logBucketName": self.storage.log_bucket_name,
            "modelServerRoleArn": self.model_server_role.arn,
        }


def stack_program(config: PlatformConfig) -> Platform:
    """The whole program of a stack: its Platform, with the outputs exported.

    `__main__.py` runs it for `pulumi up`; Automation API services run it as an inline program.
    """
    platform = Platform(f"{pulumi.get_project()}-{pulumi.get_stack()}", config)
    for key, value in platform.outputs().items():
        pulumi.export(key, value)
    return platform
