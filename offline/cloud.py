"""A deterministic stand-in for AWS and pulumi-eks: ids, ARNs, AZs, identity.

Every value derives from the resource's URN, so two runs of a stack give the
same plan. Shapes follow what the providers return (id prefixes such as
`vpc-`, ARN formats, camelCase invoke results). An invoke or call this module
does not know raises instead of answering `{}`: a silent empty answer would
make the plan lie.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib
import inspect
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gpu_platform.components import catalog, regions
from gpu_platform.offline import pulumi_eks
from gpu_platform.offline.wire import UNKNOWN, reference

ACCOUNT_ID = "123456789012"


def _region(code: str) -> regions.Region:
    """The Region a provider is configured for; one AWS does not have cannot be answered for."""
    if code not in regions.REGIONS:
        raise UnknownCall(f"the AWS provider is configured for region {code!r}, which {regions.region_problem(code)}")
    return regions.REGIONS[code]


def partition(region: str) -> str:
    return _region(region).partition


def dns_suffix(region: str) -> str:
    return _region(region).dns_suffix


class UnknownCall(LookupError):
    """The program asked for an invoke or method the offline cloud has no answer for."""


@dataclass(frozen=True)
class Child:
    """A resource a remote component's provider registers: in the plan, as the engine records it, and referable."""

    urn: str
    type: str
    id: str
    outputs: dict[str, Any]
    owner: str  # the URN of the remote component that made it
    parent: str = ""  # the component, or another child
    inputs: dict[str, Any] = field(default_factory=dict)
    custom: bool = True
    dependencies: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[1]


@dataclass(frozen=True)
class Context:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    region: str
    stack: str
    children: list[Child] = field(default_factory=list)
    # input name -> the URNs its value came from (a remote provider's Construct keeps them on each input)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    remote: bool = False
    preview: bool = False  # a first preview: what providers compute is unknown, inputs built from it too

    def child(
        self,
        type_: str,
        name: str,
        id_: str,
        outputs: dict[str, Any],
        inputs: dict[str, Any] | None = None,
        parent: str = "",
        custom: bool = True,
        depends: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Record a child of this remote component (or of one of its children) and return a reference to it."""
        parent = parent or self.urn
        stack_project, qualified = parent.rsplit("::", 2)[0], parent.split("::")[2]
        urn = f"{stack_project}::{qualified}${type_}::{name}"
        inputs = dict(inputs or {})
        outputs = {**inputs, **outputs, **({"id": id_} if custom else {})}
        self.children.append(
            Child(
                urn,
                type_,
                id_,
                outputs,
                owner=self.urn,
                parent=parent,
                inputs=inputs,
                custom=custom,
                dependencies=tuple(depends),
            )
        )
        return reference(urn, id_)


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def uuid_for(urn: str) -> str:
    return str(uuid.UUID(hashlib.sha256(urn.encode()).hexdigest()[:32]))


def arn(service: str, region: str, resource: str, account: str = ACCOUNT_ID, regional: bool = True) -> str:
    """An ARN in the region's partition; a global service (IAM) leaves the region out."""
    return f"arn:{partition(region)}:{service}:{region if regional else ''}:{account}:{resource}"


def autoname(ctx: Context, hex_digits: int = 7) -> str:
    """Pulumi's autonaming: the logical name, '-' and random hex characters (here derived from the URN)."""
    return f"{ctx.name}-{digest(ctx.urn, length=hex_digits)}"


# Properties a provider fills in its Check when the program leaves them out, so a preview already knows them
# and `pulumi stack export` keeps them among the inputs.
# - pulumi-aws (v7): every optional `name` (provider hooks `prov.SetAutonaming(255, "-")`), `bucket` in lower
#   case and `nodeGroupName` (provider/resources.go AutoName overrides), a KMS alias's `name` after `alias/`.
# - pulumi-kubernetes (v4): an object's `metadata.name` with 8 hex characters and the `pulumi.com/autonamed`
#   annotation, unless it sets `generateName` (provider/pkg/metadata/naming.go); a Helm release's `name`, also
#   8 hex characters (helm_release.go).
_AUTONAMED = {"aws:s3/bucket:Bucket": "bucket", "aws:eks/nodeGroup:NodeGroup": "nodeGroupName"}
_NAMED_BY_NAME = (
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
    "aws:ec2/placementGroup:PlacementGroup",
    "aws:eks/cluster:Cluster",
)
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def check(ctx: Context) -> dict[str, Any]:
    """The inputs as the provider's Check returns them: with the autonamed property filled in."""
    if ctx.type == HELM_RELEASE:
        return ctx.inputs if ctx.inputs.get("name") else {**ctx.inputs, "name": autoname(ctx, 8)}
    if ctx.type.startswith("kubernetes:"):
        metadata = ctx.inputs.get("metadata") or {}
        if metadata.get("name") or metadata.get("generateName"):
            return ctx.inputs
        annotations = {**(metadata.get("annotations") or {}), "pulumi.com/autonamed": "true"}
        return {**ctx.inputs, "metadata": {**metadata, "name": autoname(ctx, 8), "annotations": annotations}}
    if ctx.type == "aws:kms/alias:Alias":
        return ctx.inputs if ctx.inputs.get("name") else {**ctx.inputs, "name": f"alias/{autoname(ctx)}"}
    key = _AUTONAMED.get(ctx.type) or (
        "name"
        if ctx.type in _NAMED_BY_NAME
        or (ctx.type.startswith("aws:") and ctx.type not in _RESOURCES and _takes_a_name(ctx.type))
        else None
    )
    if key is None or ctx.inputs.get(key):
        return ctx.inputs
    name = autoname(ctx)
    return {**ctx.inputs, key: name.lower() if ctx.type == "aws:s3/bucket:Bucket" else name}


# --- resources ---------------------------------------------------------------

# type token -> (id prefix, ARN service and resource kind or None)
_EC2_IDS = {
    "aws:ec2/vpc:Vpc": ("vpc", "vpc"),
    "aws:ec2/subnet:Subnet": ("subnet", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": ("igw", "internet-gateway"),
    "aws:ec2/routeTable:RouteTable": ("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("rtbassoc", None),
    "aws:ec2/natGateway:NatGateway": ("nat", "natgateway"),
    "aws:ec2/eip:Eip": ("eipalloc", "elastic-ip"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpce", "vpc-endpoint"),
    "aws:ec2/securityGroup:SecurityGroup": ("sg", "security-group"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("sg", "security-group"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("sgr", "security-group-rule"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("sgr", "security-group-rule"),
    "aws:ec2/flowLog:FlowLog": ("fl", "vpc-flow-log"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("lt", "launch-template"),
}


def _ec2(ctx: Context) -> tuple[str, dict[str, Any]]:
    prefix, kind = _EC2_IDS[ctx.type]
    id_ = f"{prefix}-{digest(ctx.urn)}"
    outputs: dict[str, Any] = {"ownerId": ACCOUNT_ID}
    if kind:
        outputs["arn"] = arn("ec2", ctx.region, f"{kind}/{id_}")
    if ctx.type == "aws:ec2/vpc:Vpc":
        outputs |= {
            "defaultSecurityGroupId": f"sg-{digest(ctx.urn, 'sg')}",
            "mainRouteTableId": f"rtb-{digest(ctx.urn, 'rtb')}",
            "defaultNetworkAclId": f"acl-{digest(ctx.urn, 'acl')}",
        }
    elif ctx.type == "aws:ec2/eip:Eip":
        octets = bytes.fromhex(digest(ctx.urn, length=8))
        outputs |= {"allocationId": id_, "publicIp": f"3.{octets[1]}.{octets[2]}.{octets[3]}"}
    elif ctx.type == "aws:ec2/vpcEndpoint:VpcEndpoint":
        outputs |= {"state": "available", "prefixListId": f"pl-{digest(ctx.urn, 'pl', length=8)}"}
    elif ctx.type == "aws:ec2/securityGroup:SecurityGroup":
        outputs |= {"name": ctx.inputs.get("name") or autoname(ctx)}
    elif ctx.type == "aws:ec2/launchTemplate:LaunchTemplate":
        outputs |= {"latestVersion": 1, "defaultVersion": 1, "name": ctx.inputs.get("name") or autoname(ctx)}
    elif ctx.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        outputs |= {"securityGroupRuleId": id_}
    return id_, outputs


def _route(ctx: Context) -> tuple[str, dict[str, Any]]:
    route_table = ctx.inputs.get("routeTableId", "rtb")
    return f"r-{route_table}{digest(ctx.urn, length=10)}", {}


def _log_group(ctx: Context) -> tuple[str, dict[str, Any]]:
    name = ctx.inputs.get("name") or autoname(ctx)
    return name, {"name": name, "arn": arn("logs", ctx.region, f"log-group:{name}")}


def _iam_role(ctx: Context) -> tuple[str, dict[str, Any]]:
    name = ctx.inputs.get("name") or autoname(ctx)
    role_arn = arn("iam", ctx.region, f"role{ctx.inputs.get('path', '/')}{name}", regional=False)
    return name, {"name": name, "arn": role_arn, "uniqueId": "AROA" + digest(ctx.urn, length=17).upper()}


def _iam_role_policy(ctx: Context) -> tuple[str, dict[str, Any]]:
    name = ctx.inputs.get("name") or autoname(ctx)
    return f"{ctx.inputs.get('role', '')}:{name}", {"name": name}


def _kms_key(ctx: Context) -> tuple[str, dict[str, Any]]:
    key_id = uuid_for(ctx.urn)
    return key_id, {"keyId": key_id, "arn": arn("kms", ctx.region, f"key/{key_id}")}


def _kms_alias(ctx: Context) -> tuple[str, dict[str, Any]]:
    name = ctx.inputs.get("name") or f"alias/{autoname(ctx)}"
    return name, {
        "name": name,
        "arn": arn("kms", ctx.region, name),
        "targetKeyArn": arn("kms", ctx.region, f"key/{ctx.inputs.get('targetKeyId', '')}"),
    }


def _bucket(ctx: Context) -> tuple[str, dict[str, Any]]:
    name = ctx.inputs.get("bucket") or autoname(ctx)
    suffix = dns_suffix(ctx.region)
    return name, {
        "bucket": name,
        "arn": f"arn:{partition(ctx.region)}:s3:::{name}",
        "region": ctx.region,
        "bucketDomainName": f"{name}.s3.{suffix}",
        "bucketRegionalDomainName": f"{name}.s3.{ctx.region}.{suffix}",
        "hostedZoneId": "Z3AQBSTGFYJSTF",
    }


def _bucket_setting(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Bucket sub-resources (policy, versioning, ...) are identified by their bucket."""
    return ctx.inputs["bucket"], {}


def _role_policy_attachment(ctx: Context) -> tuple[str, dict[str, Any]]:
    return f"{ctx.inputs.get('role', '')}-{digest(ctx.urn, length=20)}", {}


def _eks_control_plane(ctx: Context, name: str) -> dict[str, Any]:
    """What EKS computes for a cluster: its ARN, API endpoint, certificate authority, OIDC issuer, security group."""
    suffix = dns_suffix(ctx.region)
    return {
        "arn": arn("eks", ctx.region, f"cluster/{name}"),
        "status": "ACTIVE",
        "endpoint": f"https://{digest(ctx.urn, 'endpoint', length=32).upper()}.gr7.{ctx.region}.eks.{suffix}",
        "certificateAuthority": {
            "data": base64.b64encode(f"offline certificate authority of {name}".encode()).decode()
        },
        "identities": [
            {
                "oidcs": [
                    {
                        "issuer": f"https://oidc.eks.{ctx.region}.{suffix}/id/"
                        f"{digest(ctx.urn, 'oidc', length=32).upper()}"
                    }
                ]
            }
        ],
        "vpcConfig": {"clusterSecurityGroupId": f"sg-{digest(ctx.urn, 'cluster-sg')}"},
    }


def _aws_eks_cluster(ctx: Context) -> tuple[str, dict[str, Any]]:
    """An EKS cluster the program makes itself (not through pulumi-eks)."""
    name = ctx.inputs.get("name") or autoname(ctx)
    computed = _eks_control_plane(ctx, name)
    vpc_config = {**(ctx.inputs.get("vpcConfig") or {}), **computed.pop("vpcConfig")}
    return name, {
        **computed,
        "name": name,
        "vpcConfig": vpc_config,
        "certificateAuthorities": [computed["certificateAuthority"]],
        "platformVersion": "eks.1",
        "version": ctx.inputs.get("version") or catalog.DEFAULT_KUBERNETES_VERSION,
    }


def _eks_cluster(ctx: Context) -> tuple[str, dict[str, Any]]:
    """pulumi-eks's Cluster: the children its provider registers (offline/pulumi_eks.py) and the outputs it returns."""
    pulumi_eks.check_options(ctx.inputs)
    name = ctx.inputs.get("name") or autoname(ctx)
    options = {**ctx.inputs, "name": name, "component": ctx.name}
    tags = dict(ctx.inputs.get("tags") or {})
    computed = _eks_control_plane(ctx, name)
    endpoint = computed["endpoint"]
    ca = computed["certificateAuthority"]["data"]

    service_role = ctx.child("eks:index:ServiceRole", f"{ctx.name}-eksRole", "", {}, custom=False)
    role_name = f"{ctx.name}-eksRole-role-{digest(ctx.urn, 'role', length=7)}"
    role_arn = arn("iam", ctx.region, f"role/{role_name}", regional=False)
    role = ctx.child(
        "aws:iam/role:Role",
        f"{ctx.name}-eksRole-role",
        role_name,
        {"arn": role_arn},
        inputs={
            "assumeRolePolicy": pulumi_eks.service_role_trust(),
            "description": "Allows EKS to manage clusters on your behalf.",
            "tags": tags,
            "name": role_name,
        },  # pulumi-aws autonames it in Check: known in a preview too
        parent=service_role["urn"],
    )
    if ctx.preview:  # the role's ARN and the cluster's endpoint come from Create: unknown in a first preview
        role_arn = UNKNOWN
    attachment = ctx.child(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        pulumi_eks.role_attachment_name(ctx.name),
        f"{role_name}-{digest(ctx.urn, 'attach')}",
        {},
        inputs={"policyArn": pulumi_eks.CLUSTER_POLICY, "role": role_name},
        parent=service_role["urn"],
        depends=(role["urn"],),
    )
    version = ctx.inputs.get("version", "")
    eks_cluster = ctx.child(
        "aws:eks/cluster:Cluster",
        f"{ctx.name}-eksCluster",
        name,
        {
            **computed,
            "vpcConfig": {
                **pulumi_eks.cluster_inputs(options, role_arn)["vpcConfig"],
                **computed["vpcConfig"],
                "vpcId": ctx.inputs.get("vpcId", ""),
            },
        },
        inputs=pulumi_eks.cluster_inputs(options, role_arn),
        depends=(
            role["urn"],
            attachment["urn"],
            *ctx.property_dependencies.get("privateSubnetIds", []),
            *ctx.property_dependencies.get("encryptionConfigKeyArn", []),
        ),
    )
    addon_version = f"v{version}.0-eksbuild.1"  # as the getAddonVersion stand-in answers
    ctx.child(
        "aws:eks/addon:Addon",
        f"{ctx.name}-kube-proxy",
        f"{name}:kube-proxy",
        {"arn": arn("eks", ctx.region, f"addon/{name}/kube-proxy/x")},
        inputs=pulumi_eks.addon_inputs(name, "kube-proxy", addon_version, tags),
        depends=(eks_cluster["urn"],),
    )
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "aws",
        "clusters": [{"name": "kubernetes", "cluster": {"server": endpoint, "certificate-authority-data": ca}}],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "users": [
            {
                "name": "aws",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": [
                            "--region",
                            ctx.region,
                            "eks",
                            "get-token",
                            "--cluster-name",
                            name,
                            "--output",
                            "json",
                        ],
                        "env": [
                            {
                                "name": "KUBERNETES_EXEC_INFO",
                                "value": '{"apiVersion": "client.authentication.k8s.io/v1beta1"}',
                            }
                        ],
                    }
                },
            }
        ],
    }
    k8s_provider = ctx.child(
        "pulumi:providers:kubernetes",
        f"{ctx.name}-eks-k8s",
        uuid_for(f"{ctx.urn}-k8s"),
        {},
        inputs={"kubeconfig": UNKNOWN if ctx.preview else json.dumps(kubeconfig)},
        depends=(eks_cluster["urn"],),
    )
    entries = []
    for key, inputs, associations in pulumi_eks.access_entries(name, ctx.inputs.get("accessEntries") or {}):
        principal = inputs["principalArn"]
        entry = ctx.child(
            "aws:eks/accessEntry:AccessEntry",
            f"{ctx.name}-{key}",
            f"{name}:{principal}",
            {"accessEntryArn": arn("eks", ctx.region, f"access-entry/{name}/role/{key}")},
            inputs=inputs,
            depends=(eks_cluster["urn"],),
        )
        entries.append(entry["urn"])
        for association_key, association in associations:
            ctx.child(
                "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                f"{ctx.name}-{key}-{association_key}",
                f"{name}#{principal}#{association['policyArn']}",
                {},
                inputs=association,
                parent=entry["urn"],
                depends=(entry["urn"], eks_cluster["urn"]),
            )
    cni = ctx.child("eks:index:VpcCniAddon", f"{ctx.name}-vpc-cni", "", {}, custom=False, depends=tuple(entries))
    ctx.child(
        "aws:eks/addon:Addon",
        f"{ctx.name}-vpc-cni",
        f"{name}:vpc-cni",
        {"arn": arn("eks", ctx.region, f"addon/{name}/vpc-cni/x")},
        inputs=pulumi_eks.addon_inputs(
            name, "vpc-cni", addon_version, tags, pulumi_eks.vpc_cni_configuration(ctx.inputs.get("vpcCniOptions"))
        ),
        parent=cni["urn"],
        depends=(eks_cluster["urn"],),
    )
    return "", {
        "eksCluster": eks_cluster,
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "clusterSecurityGroupId": computed["vpcConfig"]["clusterSecurityGroupId"],
        "nodeSecurityGroupId": computed["vpcConfig"]["clusterSecurityGroupId"],
        "oidcProviderArn": "",
        "provider": k8s_provider,
        "core": {
            "cluster": eks_cluster,
            "endpoint": endpoint,
            "vpcId": ctx.inputs.get("vpcId", ""),
            "subnetIds": ctx.inputs.get("privateSubnetIds", []),
            "privateSubnetIds": ctx.inputs.get("privateSubnetIds", []),
        },
    }


def _eks_node_group(ctx: Context) -> tuple[str, dict[str, Any]]:
    """A managed node group: EKS names its id <cluster>:<group> and its Auto Scaling group eks-<group>-<id>."""
    cluster_name = ctx.inputs.get("clusterName", "")
    group = ctx.inputs.get("nodeGroupName") or autoname(ctx)
    node_group_id = digest(ctx.urn, length=8)
    return f"{cluster_name}:{group}", {
        "nodeGroupName": group,
        "status": "ACTIVE",
        "arn": arn("eks", ctx.region, f"nodegroup/{cluster_name}/{group}/{node_group_id}"),
        "resources": [
            {"autoscalingGroups": [{"name": f"eks-{group}-{node_group_id}"}], "remoteAccessSecurityGroupId": ""}
        ],
    }


def _random_password(ctx: Context) -> tuple[str, dict[str, Any]]:
    """A stand-in for a generated password: derived from the URN, so plans stay reproducible. Never a real one."""
    length = int(ctx.inputs.get("length", 16))
    value = (digest(ctx.urn, "password", length=64) * 2)[:length]
    return "none", {"result": value, "bcryptHash": f"$2a$10$offline{digest(ctx.urn, 'bcrypt', length=46)}"}


def _oidc_provider(ctx: Context) -> tuple[str, dict[str, Any]]:
    """IAM keeps an OIDC provider's URL without its scheme; its ARN ends with that URL."""
    url = str(ctx.inputs.get("url", "")).removeprefix("https://")
    provider_arn = arn("iam", ctx.region, f"oidc-provider/{url}", regional=False)
    return provider_arn, {"arn": provider_arn, "url": url}


def _placement_group(ctx: Context) -> tuple[str, dict[str, Any]]:
    name = ctx.inputs.get("name") or autoname(ctx)
    return name, {
        "name": name,
        "placementGroupId": f"pg-{digest(ctx.urn)}",
        "arn": arn("ec2", ctx.region, f"placement-group/{name}"),
    }


def _kubernetes_object(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Kubernetes objects are identified as namespace/name (or name, cluster-wide)."""
    metadata = ctx.inputs.get("metadata", {})
    name = metadata.get("name") or autoname(ctx)
    namespace = metadata.get("namespace")
    return (f"{namespace}/{name}" if namespace else name), {
        "metadata": {**metadata, "name": name, "uid": uuid_for(ctx.urn)}
    }


def _helm_release(ctx: Context) -> tuple[str, dict[str, Any]]:
    name, namespace = ctx.inputs.get("name") or autoname(ctx), ctx.inputs.get("namespace", "default")
    return f"{namespace}/{name}", {
        "status": {
            "name": name,
            "namespace": namespace,
            "chart": ctx.inputs.get("chart", ""),
            "version": ctx.inputs.get("version", ""),
            "status": "deployed",
            "revision": 1,
        }
    }


def _provider(ctx: Context) -> tuple[str, dict[str, Any]]:
    return uuid_for(ctx.urn), {}


_RESOURCES: dict[str, Callable[[Context], tuple[str, dict[str, Any]]]] = {
    **{t: _ec2 for t in _EC2_IDS},
    "aws:ec2/route:Route": _route,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:iam/role:Role": _iam_role,
    "aws:iam/rolePolicy:RolePolicy": _iam_role_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _role_policy_attachment,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:autoscaling/schedule:Schedule": lambda ctx: (
        ctx.inputs.get("scheduledActionName", ""),
        {
            "arn": arn(
                "autoscaling",
                ctx.region,
                f"scheduledUpdateGroupAction:{digest(ctx.urn, length=8)}:"
                f"autoScalingGroupName/{ctx.inputs.get('autoscalingGroupName')}:scheduledActionName/"
                f"{ctx.inputs.get('scheduledActionName')}",
            )
        },
    ),
    "aws:autoscaling/tag:Tag": lambda ctx: (
        f"{ctx.inputs.get('autoscalingGroupName')},{ctx.inputs.get('tag', {}).get('key')}",
        {},
    ),
    "aws:eks/addon:Addon": lambda ctx: (
        f"{ctx.inputs.get('clusterName')}:{ctx.inputs.get('addonName')}",
        {"arn": arn("eks", ctx.region, f"addon/{ctx.inputs.get('clusterName')}/{ctx.inputs.get('addonName')}/x")},
    ),
    "eks:index:Cluster": _eks_cluster,
    "aws:eks/cluster:Cluster": _aws_eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    # EKS names an access entry <cluster>:<principal> (terraform-provider-aws eks access entry id).
    "aws:eks/accessEntry:AccessEntry": lambda ctx: (
        f"{ctx.inputs.get('clusterName')}:{ctx.inputs.get('principalArn')}",
        {
            "accessEntryArn": arn(
                "eks", ctx.region, f"access-entry/{ctx.inputs.get('clusterName')}/role/{digest(ctx.urn, length=12)}"
            )
        },
    ),
    "aws:ec2/placementGroup:PlacementGroup": _placement_group,
    "random:index/randomPassword:RandomPassword": _random_password,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "kubernetes:helm.sh/v3:Release": _helm_release,
    **{
        f"aws:s3/{module}:{kind}": _bucket_setting
        for module, kind in (
            ("bucketPolicy", "BucketPolicy"),
            ("bucketPublicAccessBlock", "BucketPublicAccessBlock"),
            ("bucketOwnershipControls", "BucketOwnershipControls"),
            ("bucketVersioning", "BucketVersioning"),
            ("bucketServerSideEncryptionConfiguration", "BucketServerSideEncryptionConfiguration"),
            ("bucketLifecycleConfiguration", "BucketLifecycleConfiguration"),
            ("bucketLogging", "BucketLogging"),
        )
    },
}


# pulumi-kubernetes handles every kind alike, built-in or custom: the id is `namespace/name` (provider.go
# Create, fqObjName). Its components (helm.sh/v4 Chart, yaml/v2, kustomize/v2) and Release are not objects.
_KUBERNETES_OBJECT = re.compile(r"kubernetes:(?!helm\.sh/|yaml/|kustomize/)[a-z0-9.-]+/v[a-z0-9]+:[A-Z][A-Za-z0-9]*")


def _fake(type_: str) -> Callable[[Context], tuple[str, dict[str, Any]]] | None:
    if type_ in _RESOURCES:
        return _RESOURCES[type_]
    return _kubernetes_object if _KUBERNETES_OBJECT.fullmatch(type_) else None


def new_resource(ctx: Context) -> tuple[str, dict[str, Any]]:
    """The id and the outputs the provider would add to a new resource's inputs."""
    if ctx.type.startswith("pulumi:providers:"):
        return _provider(ctx)
    fake = _fake(ctx.type)
    if fake is None and ctx.remote:
        raise UnknownCall(
            f"the offline cloud does not know remote component {ctx.type}: its provider's children "
            "and outputs cannot be made up; model it in offline/cloud.py (see pulumi_eks.py)"
        )
    return (fake or _generic)(ctx)


def is_generic(type_: str) -> bool:
    """A resource type without a fake of its own: its plan shows inputs, but what AWS computes is a stand-in."""
    return not type_.startswith("pulumi:providers:") and _fake(type_) is None


def _generic(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Any other resource: its inputs echoed, a deterministic id and, for AWS types, an ARN in the stack's
    region and partition (the service from the type's module, `aws:sqs/queue:Queue` -> sqs)."""
    name = ctx.inputs.get("name") if isinstance(ctx.inputs.get("name"), str) else autoname(ctx)
    outputs: dict[str, Any] = {}
    if ctx.type.startswith("aws:") and ctx.region:
        service = ctx.type.split(":")[1].split("/")[0].lower()
        kind = re.sub(
            r"(?<!^)(?=[A-Z])", "-", ctx.type.rsplit(":", 1)[1]
        ).lower()  # InstanceProfile -> instance-profile
        outputs["arn"] = arn(service, ctx.region, f"{kind}/{name}", regional=service not in _GLOBAL_SERVICES)
    return f"{name}-{digest(ctx.urn, length=8)}", outputs


# Services whose ARNs carry no region (IAM reference-arns.html).
_GLOBAL_SERVICES = frozenset(("iam", "s3", "cloudfront", "route53", "organizations", "waf", "globalaccelerator"))


@functools.cache
def _takes_a_name(type_: str) -> bool:
    """Whether a pulumi-aws resource has a `name` argument (its Python SDK's constructor), which the provider
    autonames when left out (SetAutonaming)."""
    module, _, _cls = type_.split(":")[1].partition("/")
    try:
        package = importlib.import_module("pulumi_aws" if module == "index" else f"pulumi_aws.{module}")
        resource = getattr(package, type_.rsplit(":", 1)[1])
        return "name" in inspect.signature(resource._internal_init).parameters
    except (ImportError, AttributeError, ValueError, TypeError):
        return False


# --- invokes and calls -------------------------------------------------------


def _availability_zones(args: dict[str, Any], region: str) -> dict[str, Any]:
    region = args.get("region") or region
    zones = _region(region).zones
    short = "".join(word[0] for word in region.split("-")[:-1]) + region.split("-")[-1]
    return {
        "names": list(zones),
        "zoneIds": [f"{short}-az{i + 1}" for i in range(len(zones))],
        "groupNames": [region] * len(zones),
        "id": region,
        "state": args.get("state", "available"),
    }


def _ami(args: dict[str, Any], region: str) -> dict[str, Any]:
    """The image a filter would find: a stable id per region and filter, the name the filter asks for."""
    filters = {f.get("name"): f.get("values", []) for f in args.get("filters") or []}
    pattern = (filters.get("name") or ["offline-image-*"])[0]
    image = f"ami-{digest(region, json.dumps(args, sort_keys=True))}"
    return {
        **args,
        "id": image,
        "imageId": image,
        "name": pattern.replace("*", "20261101"),
        "architecture": (filters.get("architecture") or ["x86_64"])[0],
        "ownerId": ACCOUNT_ID,
        "rootDeviceName": "/dev/xvda",
        "virtualizationType": "hvm",
        "state": "available",
        "arn": arn("ec2", region, f"image/{image}", account=""),
    }


_INVOKES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    # An add-on version string as EKS writes them (v<upstream>-eksbuild.<n>); offline, a stand-in per add-on
    # and Kubernetes version.
    "aws:eks/getAddonVersion:getAddonVersion": lambda args, region: {
        "addonName": args.get("addonName", ""),
        "kubernetesVersion": args.get("kubernetesVersion", ""),
        "mostRecent": args.get("mostRecent", False),
        "id": args.get("addonName", ""),
        "version": f"v{args.get('kubernetesVersion', '0')}.0-eksbuild.1",
    },
    "aws:ec2/getAmi:getAmi": lambda args, region: _ami(args, region),
    # The account's default VPC (172.31.0.0/16, one default subnet per AZ: VPC user guide, default-vpc.html).
    "aws:ec2/getVpc:getVpc": lambda args, region: {
        **args,
        "id": f"vpc-{digest(region, 'default-vpc')}",
        "cidrBlock": "172.31.0.0/16",
        "default": bool(args.get("default", True)),
        "state": "available",
        "ownerId": ACCOUNT_ID,
        "arn": arn("ec2", region, f"vpc/vpc-{digest(region, 'default-vpc')}"),
    },
    "aws:ec2/getSubnets:getSubnets": lambda args, region: {
        **args,
        "id": region,
        "ids": [f"subnet-{digest(region, zone)}" for zone in _region(region).zones],
    },
    "aws:index/getCallerIdentity:getCallerIdentity": lambda args, region: {
        "accountId": ACCOUNT_ID,
        "arn": arn("iam", region, "user/offline", regional=False),
        "userId": "AIDAOFFLINEOFFLINE",
        "id": ACCOUNT_ID,
    },
    "aws:index/getPartition:getPartition": lambda args, region: {
        "partition": partition(region),
        "dnsSuffix": dns_suffix(region),
        "id": partition(region),
        "reverseDnsPrefix": ".".join(reversed(dns_suffix(region).split("."))),
    },
    "aws:index/getRegion:getRegion": lambda args, region: {
        "name": region,
        "region": region,
        "id": region,
        "endpoint": f"ec2.{region}.{dns_suffix(region)}",
        "description": region,
    },
}


def invoke(token: str, args: dict[str, Any], region: str) -> dict[str, Any]:
    if token not in _INVOKES:
        raise UnknownCall(
            f"the offline cloud does not know invoke {token}; add it to offline/cloud.py with a realistic answer"
        )
    return _INVOKES[token](args, region)


def call(token: str, args: dict[str, Any], owner_outputs: dict[str, Any]) -> dict[str, Any]:
    """Component methods, answered from the outputs of the component they are called on."""
    if token == "eks:index:Cluster/getKubeconfig":
        return {"result": owner_outputs["kubeconfigJson"]}
    raise UnknownCall(f"the offline cloud does not know method {token}")
