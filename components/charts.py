"""How the platform installs a Helm chart: pinned, from its repository, atomically.

`atomic` rolls a failed install or upgrade back and `cleanup_on_fail` removes what it made, so a chart is never
left half-installed (pulumi-kubernetes helm.v3.Release, as Helm's --atomic and --cleanup-on-fail).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s


def chart_release(
    resource_name: str,
    chart: str,
    version: str,
    repository: str,
    namespace: str,
    values: pulumi.Input[dict[str, Any]],
    opts: pulumi.ResourceOptions,
    release_name: str | None = None,
) -> k8s.helm.v3.Release:
    """One release of `chart` at `version`, named `release_name` in the cluster (the chart's name by default)."""
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name or chart,
        chart=chart,
        version=version,
        namespace=namespace,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repository),
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        opts=opts,
    )
