"""What pulumi-eks's Cluster registers inside its provider, so the offline review sees what the engine shows.

The engine analyzes every resource a remote component's provider registers, and the component itself with
empty inputs: pulumi-eks 4.x is built on @pulumi/pulumi 3.173, and component inputs reach the engine only
since pulumi/pulumi#20357 (v3.202). Modelled from pulumi/pulumi-eks v4.3.0 (nodejs/eks/** unchanged up to the
4.4.0 the program pins): cluster/cluster.ts createCore and createCluster, servicerole.ts, authenticationMode.ts,
addons/cni-addon.ts. Only the options this program uses are modelled; any other fails loudly, because a
plan that guesses what the provider does would mislead its reviewer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Packages whose providers register components without their inputs (@pulumi/pulumi older than 3.202:
# pulumi-eks's nodejs/eks/yarn.lock pins 3.173.0 at v4.3.0).
PACKAGES_WITHOUT_COMPONENT_INPUTS = ("eks",)
# Cluster inputs this model knows; the values the program passes are read below.
KNOWN_OPTIONS = {
    "name",
    "version",
    "vpcId",
    "privateSubnetIds",
    "endpointPrivateAccess",
    "endpointPublicAccess",
    "publicAccessCidrs",
    "authenticationMode",
    "accessEntries",
    "createOidcProvider",
    "encryptionConfigKeyArn",
    "enabledClusterLogTypes",
    "upgradePolicy",
    "skipDefaultNodeGroup",
    "skipDefaultSecurityGroups",
    "tags",
    "clusterTags",
    "vpcCniOptions",
}
# vpcCniOptions this model knows: enableNetworkPolicy (cni-addon.ts mergeConfigurationValues), and the
# conflict settings at the values the add-on gets anyway (the Python SDK sends its OVERWRITE defaults).
KNOWN_VPC_CNI_OPTIONS = {"enableNetworkPolicy"}
DEFAULT_VPC_CNI_OPTIONS = {"resolveConflictsOnCreate": "OVERWRITE", "resolveConflictsOnUpdate": "OVERWRITE"}
# What the options must be for this model to hold (anything else changes what pulumi-eks registers).
REQUIRED = {
    "skipDefaultNodeGroup": True,
    "skipDefaultSecurityGroups": True,
    "createOidcProvider": False,
    "authenticationMode": "API",
}
CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
# addons/cni-addon.ts computeEnv defaults, keys sorted by stringifyAddonConfiguration.
_VPC_CNI_DEFAULTS: dict[str, Any] = {
    "env": {
        "AWS_VPC_ENI_MTU": "9001",
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false",
        "AWS_VPC_K8S_CNI_EXTERNALSNAT": "false",
        "AWS_VPC_K8S_CNI_LOGLEVEL": "DEBUG",
        "AWS_VPC_K8S_CNI_LOG_FILE": "/host/var/log/aws-routed-eni/ipamd.log",
        "AWS_VPC_K8S_CNI_VETHPREFIX": "eni",
        "AWS_VPC_K8S_PLUGIN_LOG_FILE": "/var/log/aws-routed-eni/plugin.log",
        "AWS_VPC_K8S_PLUGIN_LOG_LEVEL": "DEBUG",
        "ENABLE_POD_ENI": "false",
        "WARM_ENI_TARGET": "1",
    },
    "init": {"env": {"DISABLE_TCP_EARLY_DEMUX": "false"}},
}


def vpc_cni_configuration(options: dict[str, Any] | None) -> str:
    """The vpc-cni add-on's configurationValues: computeEnv's defaults, `enableNetworkPolicy` as the string
    "true"/"false" when set (mergeConfigurationValues), keys sorted as stringifyAddonConfiguration writes them."""
    config = dict(_VPC_CNI_DEFAULTS)
    enabled = (options or {}).get("enableNetworkPolicy")
    if enabled is not None:
        config["enableNetworkPolicy"] = "true" if enabled else "false"
    return json.dumps(config, separators=(",", ":"), sort_keys=True)


class UnmodelledOption(LookupError):
    """The program asked pulumi-eks for something this model does not know."""


def check_options(inputs: dict[str, Any]) -> None:
    unknown = sorted(k for k, v in inputs.items() if k not in KNOWN_OPTIONS and v not in (None, {}, []))
    unknown += sorted(
        f"vpcCniOptions.{k}={v!r}"
        for k, v in (inputs.get("vpcCniOptions") or {}).items()
        if k not in KNOWN_VPC_CNI_OPTIONS and DEFAULT_VPC_CNI_OPTIONS.get(k) != v
    )
    wrong = sorted(k for k, want in REQUIRED.items() if inputs.get(k) != want)
    if unknown or wrong:
        raise UnmodelledOption(
            "the offline model of pulumi-eks's Cluster (offline/pulumi_eks.py) does not know "
            + ", ".join([*(f"option {k}" for k in unknown), *(f"{k}={inputs.get(k)!r}" for k in wrong)])
            + "; model what pulumi-eks registers for it before the plan can show it"
        )


def role_attachment_name(component: str) -> str:
    """servicerole.ts: `${name}-${sha1hash(policy.id)}`, the first 8 hex characters."""
    return f"{component}-eksRole-{hashlib.sha1(CLUSTER_POLICY.encode()).hexdigest()[:8]}"


def service_role_trust() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {  # JSON.stringify: compact
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Effect": "Allow",
                    "Principal": {"Service": ["eks.amazonaws.com"]},
                }
            ],
        },
        separators=(",", ":"),
    )


def cluster_inputs(options: dict[str, Any], role_arn: str) -> dict[str, Any]:
    """The inputs of `${name}-eksCluster` (cluster.ts createCore, 687-762)."""
    subnets = options.get("privateSubnetIds", [])
    vpc: dict[str, Any] = {
        "subnetIds": list(subnets) if isinstance(subnets, list) else subnets,
        "endpointPrivateAccess": options.get("endpointPrivateAccess"),
        "endpointPublicAccess": options.get("endpointPublicAccess"),
    }
    if options.get("publicAccessCidrs"):
        vpc["publicAccessCidrs"] = list(options["publicAccessCidrs"])
    inputs: dict[str, Any] = {
        "name": options["name"],
        "roleArn": role_arn,
        "bootstrapSelfManagedAddons": True,
        "vpcConfig": vpc,
        "version": options.get("version"),
        "enabledClusterLogTypes": list(options.get("enabledClusterLogTypes", [])),
        "tags": {
            "Name": f"{options['component']}-eksCluster",
            **options.get("clusterTags", {}),
            **options.get("tags", {}),
        },
        "accessConfig": {
            "authenticationMode": options["authenticationMode"],
            "bootstrapClusterCreatorAdminPermissions": True,
        },
    }
    if options.get("encryptionConfigKeyArn"):
        inputs["encryptionConfig"] = {
            "provider": {"keyArn": options["encryptionConfigKeyArn"]},
            "resources": ["secrets"],
        }
    if options.get("upgradePolicy"):
        inputs["upgradePolicy"] = options["upgradePolicy"]
    return inputs


def addon_inputs(
    cluster_name: str, addon: str, version: str, tags: dict[str, str], configuration: str | None = None
) -> dict[str, Any]:
    """kube-proxy (cluster.ts 764-797) and vpc-cni (cni-addon.ts 297-313): the newest version, OVERWRITE, preserve."""
    inputs: dict[str, Any] = {
        "clusterName": cluster_name,
        "addonName": addon,
        "addonVersion": version,
        "preserve": True,
        "resolveConflictsOnCreate": "OVERWRITE",
        "resolveConflictsOnUpdate": "OVERWRITE",
        "tags": tags,
    }
    if configuration:
        inputs["configurationValues"] = configuration
    return inputs


def access_entries(
    cluster_name: str, entries: dict[str, Any]
) -> list[tuple[str, dict[str, Any], list[tuple[str, dict[str, Any]]]]]:
    """authenticationMode.ts createAccessEntries: an entry with its own tags only, and its policy associations."""
    result = []
    for key, entry in sorted(entries.items()):
        inputs = {"clusterName": cluster_name, "principalArn": entry.get("principalArn")}
        if entry.get("tags"):
            inputs["tags"] = entry["tags"]
        associations = [
            (
                association_key,
                {
                    "clusterName": cluster_name,
                    "principalArn": entry.get("principalArn"),
                    "policyArn": association.get("policyArn"),
                    "accessScope": association.get("accessScope"),
                },
            )
            for association_key, association in sorted((entry.get("accessPolicies") or {}).items())
        ]
        result.append((key, inputs, associations))
    return result
