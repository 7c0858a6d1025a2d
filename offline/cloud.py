"""A deterministic stand-in for AWS and pulumi-eks: ids, ARNs, AZs, identity.

Every value derives from the resource's URN, so two runs of a stack give the
same plan. Shapes follow what the providers return (id prefixes such as
`vpc-`, ARN formats, camelCase invoke results). An invoke or call this module
does not know raises instead of answering `{}`: a silent empty answer would
make the plan lie.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from offline import pulumi_eks
from offline.wire import reference

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
DEFAULT_REGION = "us-east-1"
# AZs that need no opt-in, per region (AWS regions-and-zones documentation).
REGION_AZ_LETTERS = {
    "us-east-1": "abcdef", "us-east-2": "abc", "us-west-1": "ac", "us-west-2": "abcd",
    "eu-west-1": "abc", "eu-central-1": "abc", "eu-north-1": "abc",
    "ap-northeast-1": "acd", "ap-southeast-1": "abc", "ap-south-1": "abc",
}
DEFAULT_AZ_LETTERS = "abc"


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

    def child(self, type_: str, name: str, id_: str, outputs: dict[str, Any], inputs: dict[str, Any] | None = None,
              parent: str = "", custom: bool = True, depends: tuple[str, ...] = ()) -> dict[str, Any]:
        """Record a child of this remote component (or of one of its children) and return a reference to it."""
        parent = parent or self.urn
        stack_project, qualified = parent.rsplit("::", 2)[0], parent.split("::")[2]
        urn = f"{stack_project}::{qualified}${type_}::{name}"
        inputs = dict(inputs or {})
        outputs = {**inputs, **outputs, **({"id": id_} if custom else {})}
        self.children.append(Child(urn, type_, id_, outputs, owner=self.urn, parent=parent, inputs=inputs,
                                   custom=custom, dependencies=tuple(depends)))
        return reference(urn, id_)


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def uuid_for(urn: str) -> str:
    return str(uuid.UUID(hashlib.sha256(urn.encode()).hexdigest()[:32]))


def arn(service: str, region: str, resource: str, account: str = ACCOUNT_ID) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def autoname(ctx: Context) -> str:
    """Pulumi's autonaming: the logical name and seven hex characters."""
    return f"{ctx.name}-{digest(ctx.urn, length=7)}"


# Properties a provider fills in its Check when the program leaves them out, so a preview already knows them
# and `pulumi stack export` keeps them among the inputs. pulumi-aws: every optional `name` (provider hooks
# `prov.SetAutonaming(255, "-")`), plus `bucket` and `nodeGroupName` (provider/resources.go AutoName
# overrides); pulumi-kubernetes: `metadata.name` of an object and a Helm release's `name` (provider.go Check).
# A KMS alias is named by Terraform at create (`alias/` + a unique id), unknown until then.
_AUTONAMED = {"aws:s3/bucket:Bucket": "bucket", "aws:eks/nodeGroup:NodeGroup": "nodeGroupName"}
_NAMED_BY_NAME = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/launchTemplate:LaunchTemplate",
                  "aws:cloudwatch/logGroup:LogGroup", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
                  "aws:ec2/placementGroup:PlacementGroup", "kubernetes:helm.sh/v3:Release")


def check(ctx: Context) -> dict[str, Any]:
    """The inputs as the provider's Check returns them: with the autonamed property filled in."""
    if ctx.type.startswith("kubernetes:") and ctx.type in _RESOURCES and ctx.type != "kubernetes:helm.sh/v3:Release":
        metadata = ctx.inputs.get("metadata") or {}
        return ctx.inputs if metadata.get("name") else {**ctx.inputs, "metadata": {**metadata, "name": autoname(ctx)}}
    key = _AUTONAMED.get(ctx.type) or ("name" if ctx.type in _NAMED_BY_NAME else None)
    if key is None or ctx.inputs.get(key):
        return ctx.inputs
    return {**ctx.inputs, key: autoname(ctx)}


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
        outputs |= {"defaultSecurityGroupId": f"sg-{digest(ctx.urn, 'sg')}",
                    "mainRouteTableId": f"rtb-{digest(ctx.urn, 'rtb')}",
                    "defaultNetworkAclId": f"acl-{digest(ctx.urn, 'acl')}"}
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
    return name, {"name": name, "arn": arn("iam", "", f"role{ctx.inputs.get('path', '/')}{name}"),
                  "uniqueId": "AROA" + digest(ctx.urn, length=17).upper()}


def _iam_role_policy(ctx: Context) -> tuple[str, dict[str, Any]]:
    name = ctx.inputs.get("name") or autoname(ctx)
    return f"{ctx.inputs.get('role', '')}:{name}", {"name": name}


def _kms_key(ctx: Context) -> tuple[str, dict[str, Any]]:
    key_id = uuid_for(ctx.urn)
    return key_id, {"keyId": key_id, "arn": arn("kms", ctx.region, f"key/{key_id}")}


def _kms_alias(ctx: Context) -> tuple[str, dict[str, Any]]:
    name = ctx.inputs.get("name") or f"alias/{autoname(ctx)}"
    return name, {"name": name, "arn": arn("kms", ctx.region, name), "targetKeyArn": arn(
        "kms", ctx.region, f"key/{ctx.inputs.get('targetKeyId', '')}")}


def _bucket(ctx: Context) -> tuple[str, dict[str, Any]]:
    name = ctx.inputs.get("bucket") or autoname(ctx)
    return name, {"bucket": name, "arn": f"arn:{PARTITION}:s3:::{name}", "region": ctx.region,
                  "bucketDomainName": f"{name}.s3.amazonaws.com",
                  "bucketRegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
                  "hostedZoneId": "Z3AQBSTGFYJSTF"}


def _bucket_setting(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Bucket sub-resources (policy, versioning, ...) are identified by their bucket."""
    return ctx.inputs["bucket"], {}


def _role_policy_attachment(ctx: Context) -> tuple[str, dict[str, Any]]:
    return f"{ctx.inputs.get('role', '')}-{digest(ctx.urn, length=20)}", {}


def _eks_cluster(ctx: Context) -> tuple[str, dict[str, Any]]:
    """pulumi-eks's Cluster: the children its provider registers (offline/pulumi_eks.py) and the outputs it returns."""
    pulumi_eks.check_options(ctx.inputs)
    name = ctx.inputs.get("name") or autoname(ctx)
    options = {**ctx.inputs, "name": name, "component": ctx.name}
    tags = dict(ctx.inputs.get("tags") or {})
    oidc_id = digest(ctx.urn, "oidc", length=32).upper()
    issuer = f"oidc.eks.{ctx.region}.amazonaws.com/id/{oidc_id}"
    endpoint = f"https://{digest(ctx.urn, 'endpoint', length=32).upper()}.gr7.{ctx.region}.eks.amazonaws.com"
    ca = base64.b64encode(f"offline certificate authority of {name}".encode()).decode()
    cluster_sg = f"sg-{digest(ctx.urn, 'cluster-sg')}"

    service_role = ctx.child("eks:index:ServiceRole", f"{ctx.name}-eksRole", "", {}, custom=False)
    role_name = f"{ctx.name}-eksRole-role-{digest(ctx.urn, 'role', length=7)}"
    role_arn = arn("iam", "", f"role/{role_name}")
    role = ctx.child("aws:iam/role:Role", f"{ctx.name}-eksRole-role", role_name, {"arn": role_arn, "name": role_name},
                     inputs={"assumeRolePolicy": pulumi_eks.service_role_trust(),
                             "description": "Allows EKS to manage clusters on your behalf.", "tags": tags},
                     parent=service_role["urn"])
    attachment = ctx.child("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                           pulumi_eks.role_attachment_name(ctx.name), f"{role_name}-{digest(ctx.urn, 'attach')}", {},
                           inputs={"policyArn": pulumi_eks.CLUSTER_POLICY, "role": role_name},
                           parent=service_role["urn"], depends=(role["urn"],))
    version = ctx.inputs.get("version", "")
    eks_cluster = ctx.child("aws:eks/cluster:Cluster", f"{ctx.name}-eksCluster", name, {
        "arn": arn("eks", ctx.region, f"cluster/{name}"), "endpoint": endpoint, "status": "ACTIVE",
        "certificateAuthority": {"data": ca}, "identities": [{"oidcs": [{"issuer": f"https://{issuer}"}]}],
        "vpcConfig": {**pulumi_eks.cluster_inputs(options, role_arn)["vpcConfig"],
                      "clusterSecurityGroupId": cluster_sg, "vpcId": ctx.inputs.get("vpcId", "")},
    }, inputs=pulumi_eks.cluster_inputs(options, role_arn), depends=(
        role["urn"], attachment["urn"], *ctx.property_dependencies.get("privateSubnetIds", []),
        *ctx.property_dependencies.get("encryptionConfigKeyArn", [])))
    addon_version = f"v{version}.0-eksbuild.1"  # as the getAddonVersion stand-in answers
    ctx.child("aws:eks/addon:Addon", f"{ctx.name}-kube-proxy", f"{name}:kube-proxy",
              {"arn": arn("eks", ctx.region, f"addon/{name}/kube-proxy/x")},
              inputs=pulumi_eks.addon_inputs(name, "kube-proxy", addon_version, tags), depends=(eks_cluster["urn"],))
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "aws",
        "clusters": [{"name": "kubernetes", "cluster": {"server": endpoint, "certificate-authority-data": ca}}],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "users": [{"name": "aws", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["--region", ctx.region, "eks", "get-token", "--cluster-name", name, "--output", "json"],
            "env": [{"name": "KUBERNETES_EXEC_INFO",
                     "value": '{"apiVersion": "client.authentication.k8s.io/v1beta1"}'}]}}}],
    }
    k8s_provider = ctx.child("pulumi:providers:kubernetes", f"{ctx.name}-eks-k8s", uuid_for(f"{ctx.urn}-k8s"), {},
                             inputs={"kubeconfig": json.dumps(kubeconfig)}, depends=(eks_cluster["urn"],))
    entries = []
    for key, inputs, associations in pulumi_eks.access_entries(name, ctx.inputs.get("accessEntries") or {}):
        principal = inputs["principalArn"]
        entry = ctx.child("aws:eks/accessEntry:AccessEntry", f"{ctx.name}-{key}", f"{name}:{principal}",
                          {"accessEntryArn": arn("eks", ctx.region, f"access-entry/{name}/role/{key}")},
                          inputs=inputs, depends=(eks_cluster["urn"],))
        entries.append(entry["urn"])
        for association_key, association in associations:
            ctx.child("aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                      f"{ctx.name}-{key}-{association_key}", f"{name}#{principal}#{association['policyArn']}", {},
                      inputs=association, parent=entry["urn"], depends=(entry["urn"], eks_cluster["urn"]))
    cni = ctx.child("eks:index:VpcCniAddon", f"{ctx.name}-vpc-cni", "", {}, custom=False, depends=tuple(entries))
    ctx.child("aws:eks/addon:Addon", f"{ctx.name}-vpc-cni", f"{name}:vpc-cni",
              {"arn": arn("eks", ctx.region, f"addon/{name}/vpc-cni/x")},
              inputs=pulumi_eks.addon_inputs(name, "vpc-cni", addon_version, tags, pulumi_eks.VPC_CNI_CONFIGURATION),
              parent=cni["urn"], depends=(eks_cluster["urn"],))
    return "", {
        "eksCluster": eks_cluster, "kubeconfig": kubeconfig, "kubeconfigJson": json.dumps(kubeconfig),
        "clusterSecurityGroupId": cluster_sg, "nodeSecurityGroupId": cluster_sg, "oidcProviderArn": "",
        "provider": k8s_provider,
        "core": {"cluster": eks_cluster, "endpoint": endpoint, "vpcId": ctx.inputs.get("vpcId", ""),
                 "subnetIds": ctx.inputs.get("privateSubnetIds", []),
                 "privateSubnetIds": ctx.inputs.get("privateSubnetIds", [])},
    }


def _eks_node_group(ctx: Context) -> tuple[str, dict[str, Any]]:
    """A managed node group: EKS names its id <cluster>:<group> and its Auto Scaling group eks-<group>-<id>."""
    cluster_name = ctx.inputs.get("clusterName", "")
    group = ctx.inputs.get("nodeGroupName") or autoname(ctx)
    node_group_id = digest(ctx.urn, length=8)
    return f"{cluster_name}:{group}", {
        "nodeGroupName": group, "status": "ACTIVE",
        "arn": arn("eks", ctx.region, f"nodegroup/{cluster_name}/{group}/{node_group_id}"),
        "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{node_group_id}"}],
                       "remoteAccessSecurityGroupId": ""}],
    }


def _random_password(ctx: Context) -> tuple[str, dict[str, Any]]:
    """A stand-in for a generated password: derived from the URN, so plans stay reproducible. Never a real one."""
    length = int(ctx.inputs.get("length", 16))
    value = (digest(ctx.urn, "password", length=64) * 2)[:length]
    return "none", {"result": value, "bcryptHash": f"$2a$10$offline{digest(ctx.urn, 'bcrypt', length=46)}"}


def _oidc_provider(ctx: Context) -> tuple[str, dict[str, Any]]:
    """IAM keeps an OIDC provider's URL without its scheme; its ARN ends with that URL."""
    url = str(ctx.inputs.get("url", "")).removeprefix("https://")
    provider_arn = arn("iam", "", f"oidc-provider/{url}")
    return provider_arn, {"arn": provider_arn, "url": url}


def _placement_group(ctx: Context) -> tuple[str, dict[str, Any]]:
    name = ctx.inputs.get("name") or autoname(ctx)
    return name, {"name": name, "placementGroupId": f"pg-{digest(ctx.urn)}",
                  "arn": arn("ec2", ctx.region, f"placement-group/{name}")}


def _kubernetes_object(ctx: Context) -> tuple[str, dict[str, Any]]:
    """Kubernetes objects are identified as namespace/name (or name, cluster-wide)."""
    metadata = ctx.inputs.get("metadata", {})
    name = metadata.get("name") or autoname(ctx)
    namespace = metadata.get("namespace")
    return (f"{namespace}/{name}" if namespace else name), {
        "metadata": {**metadata, "name": name, "uid": uuid_for(ctx.urn)}}


def _helm_release(ctx: Context) -> tuple[str, dict[str, Any]]:
    name, namespace = ctx.inputs.get("name") or autoname(ctx), ctx.inputs.get("namespace", "default")
    return f"{namespace}/{name}", {"status": {
        "name": name, "namespace": namespace, "chart": ctx.inputs.get("chart", ""),
        "version": ctx.inputs.get("version", ""), "status": "deployed", "revision": 1}}


def _provider(ctx: Context) -> tuple[str, dict[str, Any]]:
    return uuid_for(ctx.urn), {}


def _component(ctx: Context) -> tuple[str, dict[str, Any]]:
    raise UnknownCall(f"the offline cloud has no outputs for remote component {ctx.type}")


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
    "aws:autoscaling/schedule:Schedule": lambda ctx: (ctx.inputs.get("scheduledActionName", ""), {
        "arn": arn("autoscaling", ctx.region, f"scheduledUpdateGroupAction:{digest(ctx.urn, length=8)}:"
                   f"autoScalingGroupName/{ctx.inputs.get('autoscalingGroupName')}:scheduledActionName/"
                   f"{ctx.inputs.get('scheduledActionName')}")}),
    "aws:autoscaling/tag:Tag": lambda ctx: (
        f"{ctx.inputs.get('autoscalingGroupName')},{ctx.inputs.get('tag', {}).get('key')}", {}),
    "aws:eks/addon:Addon": lambda ctx: (f"{ctx.inputs.get('clusterName')}:{ctx.inputs.get('addonName')}", {
        "arn": arn("eks", ctx.region, f"addon/{ctx.inputs.get('clusterName')}/{ctx.inputs.get('addonName')}/x")}),
    "eks:index:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "aws:ec2/placementGroup:PlacementGroup": _placement_group,
    "random:index/randomPassword:RandomPassword": _random_password,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "kubernetes:helm.sh/v3:Release": _helm_release,
    **{f"kubernetes:{kind}": _kubernetes_object for kind in (
        "core/v1:Namespace", "core/v1:ConfigMap", "core/v1:ServiceAccount", "core/v1:Secret", "core/v1:Service",
        "apps/v1:Deployment", "apps/v1:DaemonSet", "apps/v1:StatefulSet", "batch/v1:Job", "batch/v1:CronJob",
        "storage.k8s.io/v1:StorageClass", "monitoring.coreos.com/v1:ServiceMonitor",
        "monitoring.coreos.com/v1:PrometheusRule", "networking.k8s.io/v1:NetworkPolicy",
        "scheduling.k8s.io/v1:PriorityClass", "policy/v1:PodDisruptionBudget")},
    **{f"aws:s3/{module}:{kind}": _bucket_setting for module, kind in (
        ("bucketPolicy", "BucketPolicy"), ("bucketPublicAccessBlock", "BucketPublicAccessBlock"),
        ("bucketOwnershipControls", "BucketOwnershipControls"), ("bucketVersioning", "BucketVersioning"),
        ("bucketServerSideEncryptionConfiguration", "BucketServerSideEncryptionConfiguration"),
        ("bucketLifecycleConfiguration", "BucketLifecycleConfiguration"), ("bucketLogging", "BucketLogging"))},
}


def new_resource(ctx: Context) -> tuple[str, dict[str, Any]]:
    """The id and the outputs the provider would add to a new resource's inputs."""
    if ctx.type.startswith("pulumi:providers:"):
        return _provider(ctx)
    handler = _RESOURCES.get(ctx.type)
    if handler is None:
        raise UnknownCall(f"the offline cloud does not know resource type {ctx.type}; "
                          "add it to offline/cloud.py with realistic outputs")
    return handler(ctx)


# --- invokes and calls -------------------------------------------------------


def _availability_zones(args: dict[str, Any], region: str) -> dict[str, Any]:
    region = args.get("region") or region
    letters = REGION_AZ_LETTERS.get(region, DEFAULT_AZ_LETTERS)
    short = "".join(word[0] for word in region.split("-")[:-1]) + region.split("-")[-1]
    return {
        "names": [f"{region}{letter}" for letter in letters],
        "zoneIds": [f"{short}-az{i + 1}" for i in range(len(letters))],
        "groupNames": [region] * len(letters),
        "id": region,
        "state": args.get("state", "available"),
    }


_INVOKES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    # An add-on version string as EKS writes them (v<upstream>-eksbuild.<n>); offline, a stand-in per add-on
    # and Kubernetes version.
    "aws:eks/getAddonVersion:getAddonVersion": lambda args, region: {
        "addonName": args.get("addonName", ""), "kubernetesVersion": args.get("kubernetesVersion", ""),
        "mostRecent": args.get("mostRecent", False), "id": args.get("addonName", ""),
        "version": f"v{args.get('kubernetesVersion', '0')}.0-eksbuild.1"},
    "aws:index/getCallerIdentity:getCallerIdentity": lambda args, region: {
        "accountId": ACCOUNT_ID, "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/offline",
        "userId": "AIDAOFFLINEOFFLINE", "id": ACCOUNT_ID},
    "aws:index/getPartition:getPartition": lambda args, region: {
        "partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION,
        "reverseDnsPrefix": "com.amazonaws"},
    "aws:index/getRegion:getRegion": lambda args, region: {
        "name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com",
        "description": region},
}


def invoke(token: str, args: dict[str, Any], region: str) -> dict[str, Any]:
    if token not in _INVOKES:
        raise UnknownCall(f"the offline cloud does not know invoke {token}; "
                          "add it to offline/cloud.py with a realistic answer")
    return _INVOKES[token](args, region)


def call(token: str, args: dict[str, Any], owner_outputs: dict[str, Any]) -> dict[str, Any]:
    """Component methods, answered from the outputs of the component they are called on."""
    if token == "eks:index:Cluster/getKubeconfig":
        return {"result": owner_outputs["kubeconfigJson"]}
    raise UnknownCall(f"the offline cloud does not know method {token}")
