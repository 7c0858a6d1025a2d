"""The pack's rules, in the order a report lists them."""

from __future__ import annotations

from pulumi_policy import Policy

from . import budget, gpu, iam, nodes, prod, storage, tags, tenancy

NAME = "gpu-platform"
POLICIES: list[Policy] = [
    tags.cost_tags,
    tags.workload_labels,
    tags.gpu_launch_template_tags,
    gpu.gpu_requests_and_limits,
    gpu.gpu_placement,
    gpu.gpu_namespaces,
    budget.gpu_budget,
    nodes.node_group_labels,
    nodes.gpu_pool_taint,
    nodes.launch_template_imdsv2,
    storage.bucket_hardening,
    iam.irsa_trust,
    prod.protect_stateful,
    prod.private_encrypted_cluster,
    tenancy.tenancy,
]
