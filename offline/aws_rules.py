"""What AWS refuses: the strict half of the offline cloud.

A real `pulumi up` sends each resource to AWS, and AWS (or the provider's schema validation before it)
refuses requests that break its rules. Offline nothing is sent, so these rules stand in for AWS: each
refusal names the rule, the resource and where the rule is written down, in one line. Values not
known yet (a first preview) are not judged. Limits that are quotas say so: they hold for a new account
and can be raised, so a refusal names the quota to raise.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from components import catalog, node_labels
from offline.wire import SECRET_SIG, SPECIAL_SIG, UNKNOWN

EKS_CREATE_NODEGROUP = "docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html"
EKS_TAINT = "docs.aws.amazon.com/eks/latest/APIReference/API_Taint.html"
EKS_LABELS = "docs.aws.amazon.com/eks/latest/APIReference/API_UpdateLabelsPayload.html"
EKS_QUOTAS = "docs.aws.amazon.com/eks/latest/userguide/service-quotas.html"
EKS_CREATE_CLUSTER = "docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html"
EKS_LAUNCH_TEMPLATES = "docs.aws.amazon.com/eks/latest/userguide/launch-templates.html"
TAGGING = "docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html (tag naming limits and requirements)"
IAM_QUOTAS = "docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
IAM_ARNS = "docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html"
S3_NAMES = "docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"
S3_POLICY_SIZE = "docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html (20 KB)"
KMS_QUOTAS = "docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html (key policy document size)"
KMS_ALIAS = "docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html"
LOGS_RETENTION = "docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html"
LOGS_NAME = "docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"
LAUNCH_TEMPLATE_NAME = "docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html"
VPC_QUOTAS = "docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html (security groups)"
SG_CREATE = "docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"

LOG_RETENTION_DAYS = frozenset((1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                                2557, 2922, 3288, 3653))
TAINT_EFFECTS = ("NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE")


@dataclass(frozen=True)
class Request:
    """One resource as AWS would receive it; `find` looks up another resource of the plan by type and id."""

    urn: str
    type: str
    id: str
    inputs: dict[str, Any]
    default_tags: dict[str, Any]
    find: Callable[[str, str], "Request | None"]


@dataclass(frozen=True)
class Rule:
    name: str
    source: str
    types: tuple[str, ...]
    check: Callable[[Request], Iterable[str]]


RULES: list[Rule] = []


def rule(name: str, source: str, *types: str) -> Callable[[Callable[[Request], Iterable[str]]], Any]:
    def register(check: Callable[[Request], Iterable[str]]) -> Callable[[Request], Iterable[str]]:
        RULES.append(Rule(name, source, types, check))
        return check
    return register


def known(value: Any) -> bool:
    """A value the engine knows: not unknown, nor holding anything unknown."""
    if isinstance(value, dict):
        return all(known(v) for v in value.values())
    if isinstance(value, list):
        return all(known(v) for v in value)
    return value != UNKNOWN


def plain(value: Any) -> Any:
    """Secrets unwrapped: AWS sees the value."""
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG) == SECRET_SIG:
            return plain(value.get("value"))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _length(name: str, value: Any, low: int, high: int) -> Iterator[str]:
    if isinstance(value, str) and known(value) and not low <= len(value) <= high:
        yield f"{name} {value!r} is {len(value)} characters; AWS takes {low} to {high}"


def _policy_size(document: Any) -> int | None:
    """IAM counts a policy's characters without white space."""
    if not isinstance(document, str) or not known(document):
        return None
    return len(re.sub(r"\s", "", document))


# --- tags ---------------------------------------------------------------------------


@rule("tags", TAGGING)
def _tags(request: Request) -> Iterator[str]:
    tags = request.inputs.get("tags")
    if not isinstance(tags, dict):   # a type that takes no tags gets none of the provider's either
        return
    merged = {**request.default_tags, **(tags if isinstance(tags, dict) else {})}
    if len(merged) > 50:
        yield f"{len(merged)} tags (with the provider's default tags); AWS takes at most 50 per resource"
    for key, value in merged.items():
        if key.lower().startswith("aws:"):
            yield f"tag key {key!r} starts with 'aws:', which AWS reserves for its own tags"
        if not 1 <= len(key) <= 128:
            yield f"tag key {key!r} is {len(key)} characters; AWS takes 1 to 128"
        if isinstance(value, str) and known(value) and len(value) > 256:
            yield f"tag {key!r} has a value of {len(value)} characters; AWS takes at most 256"


# --- EKS ----------------------------------------------------------------------------


@rule("eks-cluster-name", EKS_CREATE_CLUSTER, "aws:eks/cluster:Cluster")
def _cluster_name(request: Request) -> Iterator[str]:
    name = request.inputs.get("name")
    yield from _length("cluster name", name, 1, 100)
    if isinstance(name, str) and known(name) and not re.fullmatch(r"[0-9A-Za-z][A-Za-z0-9\-_]*", name):
        yield f"cluster name {name!r} must start with a letter or digit and hold only letters, digits, '-' and '_'"


@rule("eks-cluster-version", f"{EKS_CREATE_CLUSTER}; calendar in components/catalog.py", "aws:eks/cluster:Cluster")
def _cluster_version(request: Request) -> Iterator[str]:
    version = request.inputs.get("version")
    if not isinstance(version, str) or not known(version):
        return
    today = datetime.datetime.now(datetime.timezone.utc).date()
    release = catalog.EKS_RELEASES.get(version)
    if release is None or not release.supported(today):
        offered = ", ".join(m for m, r in catalog.EKS_RELEASES.items() if r.supported(today))
        yield f"EKS does not create clusters at Kubernetes {version}; it offers {offered}"


@rule("eks-nodegroup-labels", f"{EKS_LABELS}; reserved prefixes: components/node_labels.py",
      "aws:eks/nodeGroup:NodeGroup")
def _nodegroup_labels(request: Request) -> Iterator[str]:
    labels = request.inputs.get("labels")
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        if not 1 <= len(key) <= 63:
            yield f"label key {key!r} is {len(key)} characters; EKS takes 1 to 63"
        part = node_labels.reserved_part(key)
        if part is not None:
            yield f"label key {key!r} has the reserved prefix {part!r}: \"Label cannot contain reserved prefixes\""
        if isinstance(value, str) and known(value) and not 1 <= len(value) <= 63:
            yield f"label {key!r} has a value of {len(value)} characters; EKS takes 1 to 63"


@rule("eks-nodegroup-taints", EKS_TAINT, "aws:eks/nodeGroup:NodeGroup")
def _nodegroup_taints(request: Request) -> Iterator[str]:
    taints = request.inputs.get("taints")
    if not isinstance(taints, list):
        return
    if len(taints) > 50:
        yield f"{len(taints)} taints; EKS takes at most 50 per node group"
    for taint in taints:
        key, value, effect = taint.get("key", ""), taint.get("value", ""), taint.get("effect")
        if not 1 <= len(key) <= 317:
            yield f"taint key {key!r} is {len(key)} characters; EKS takes 1 to 317"
        if isinstance(value, str) and len(value) > 63:
            yield f"taint {key!r} has a value of {len(value)} characters; EKS takes at most 63"
        if effect not in TAINT_EFFECTS:
            yield f"taint {key!r} has effect {effect!r}; EKS takes {', '.join(TAINT_EFFECTS)}"


@rule("eks-nodegroup-scaling", f"{EKS_CREATE_NODEGROUP} (NodegroupScalingConfig); {EKS_QUOTAS} (quota: "
      "nodes per managed node group, 450)", "aws:eks/nodeGroup:NodeGroup")
def _nodegroup_scaling(request: Request) -> Iterator[str]:
    scaling = request.inputs.get("scalingConfig")
    if not isinstance(scaling, dict) or not known(scaling):
        return
    low, high, desired = scaling.get("minSize"), scaling.get("maxSize"), scaling.get("desiredSize")
    if isinstance(low, int) and low < 0:
        yield f"minSize {low}; EKS takes 0 or more"
    if isinstance(high, int) and high < 1:
        yield f"maxSize {high}; EKS takes 1 or more"
    if isinstance(high, int) and high > 450:
        yield f"maxSize {high} is over the quota of 450 nodes per managed node group (raise it first)"
    if isinstance(low, int) and isinstance(high, int) and low > high:
        yield f"minSize {low} is over maxSize {high}"
    if isinstance(desired, int) and isinstance(low, int) and isinstance(high, int) and not low <= desired <= high:
        yield f"desiredSize {desired} is outside minSize {low} to maxSize {high}"


@rule("eks-nodegroup-launch-template", EKS_LAUNCH_TEMPLATES, "aws:eks/nodeGroup:NodeGroup")
def _nodegroup_launch_template(request: Request) -> Iterator[str]:
    spec = request.inputs.get("launchTemplate")
    if not isinstance(spec, dict):
        return
    for field, why in (("diskSize", "set the volume in the launch template"),
                       ("remoteAccess", "set the key pair and security groups in the launch template")):
        if request.inputs.get(field) is not None:
            yield f"{field} with a launch template: {why}"
    template = request.find("aws:ec2/launchTemplate:LaunchTemplate", spec.get("id", "")) if known(spec) else None
    if template is None:
        return
    if template.inputs.get("instanceType") and request.inputs.get("instanceTypes"):
        yield "instanceTypes on the node group and instanceType in its launch template: set one of them"
    if template.inputs.get("imageId") and request.inputs.get("amiType") not in (None, "CUSTOM"):
        yield (f"amiType {request.inputs.get('amiType')!r} with a launch template that names an AMI: "
               "leave amiType out (or CUSTOM)")
    if template.inputs.get("iamInstanceProfile"):
        yield "a launch template with an IAM instance profile: EKS sets the node role's profile itself"


@rule("eks-nodegroups-per-cluster", f"{EKS_QUOTAS} (quota: managed node groups per cluster, 30)", "-")
def _nodegroups_per_cluster(request: Request) -> Iterator[str]:
    return iter(())   # counted across the plan: _node_groups_per_cluster


# --- EC2 ----------------------------------------------------------------------------


@rule("launch-template-name", LAUNCH_TEMPLATE_NAME, "aws:ec2/launchTemplate:LaunchTemplate")
def _launch_template_name(request: Request) -> Iterator[str]:
    name = request.inputs.get("name")
    yield from _length("launch template name", name, 3, 128)
    if isinstance(name, str) and known(name) and not re.fullmatch(r"[a-zA-Z0-9().\-/_]+", name):
        yield f"launch template name {name!r} may hold only letters, digits and ( ) . - / _"


@rule("security-group", SG_CREATE, "aws:ec2/securityGroup:SecurityGroup")
def _security_group(request: Request) -> Iterator[str]:
    name, description = request.inputs.get("name"), request.inputs.get("description")
    yield from _length("security group name", name, 1, 255)
    if isinstance(name, str) and known(name) and name.startswith("sg-"):
        yield f"security group name {name!r} starts with 'sg-', which EC2 refuses"
    yield from _length("security group description", description, 0, 255)


@rule("security-group-rules", f"{VPC_QUOTAS} (quota: inbound or outbound rules per security group, 60)", "-")
def _security_group_rules(request: Request) -> Iterator[str]:
    return iter(())   # counted across the plan: _security_group_rules_per_group


# --- IAM ----------------------------------------------------------------------------


_IAM_NAME = re.compile(r"[\w+=,.@-]+")


@rule("iam-role", IAM_QUOTAS, "aws:iam/role:Role")
def _iam_role(request: Request) -> Iterator[str]:
    name, path = request.inputs.get("name"), request.inputs.get("path")
    yield from _length("role name", name, 1, 64)
    if isinstance(name, str) and known(name) and not _IAM_NAME.fullmatch(name):
        yield f"role name {name!r} may hold only letters, digits and + = , . @ _ -"
    if isinstance(path, str) and known(path) and not re.fullmatch(r"/|/[\x21-\x7e]+/", path):
        yield f"role path {path!r} must start and end with '/'"
    size = _policy_size(plain(request.inputs.get("assumeRolePolicy")))
    if size is not None and size > 2048:
        yield (f"trust policy of {size} characters (without white space) is over the quota of 2,048 "
               "(role trust policy length, adjustable to 8,192)")
    inline = [plain(p.get("policy")) for p in request.inputs.get("inlinePolicies") or [] if isinstance(p, dict)]
    sizes = [_policy_size(p) for p in inline]
    if all(s is not None for s in sizes) and sum(s or 0 for s in sizes) > 10240:
        yield f"inline policies of {sum(s or 0 for s in sizes)} characters together; IAM takes at most 10,240 per role"


@rule("iam-role-policy", IAM_QUOTAS, "aws:iam/rolePolicy:RolePolicy")
def _iam_role_policy(request: Request) -> Iterator[str]:
    name = request.inputs.get("name")
    yield from _length("inline policy name", name, 1, 128)
    if isinstance(name, str) and known(name) and re.search(r"[\\/*? ]", name):
        yield f"inline policy name {name!r} holds one of \\ / * ? or a space, which IAM reserves"


@rule("iam-policy", IAM_QUOTAS, "aws:iam/policy:Policy")
def _iam_policy(request: Request) -> Iterator[str]:
    yield from _length("policy name", request.inputs.get("name"), 1, 128)
    size = _policy_size(plain(request.inputs.get("policy")))
    if size is not None and size > 6144:
        yield f"managed policy of {size} characters (without white space); IAM takes at most 6,144"


_POLICY_ARN = re.compile(r"arn:aws(-cn|-us-gov|-iso|-iso-[a-z])?:iam::(aws|\d{12}):policy/([\x21-\x7e]*/)?[\w+=,.@-]+")


@rule("iam-policy-arn", IAM_ARNS, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def _policy_arn(request: Request) -> Iterator[str]:
    value = request.inputs.get("policyArn")
    if isinstance(value, str) and known(value) and not _POLICY_ARN.fullmatch(value):
        yield f"policyArn {value!r} is not an IAM policy ARN (arn:<partition>:iam::<account or aws>:policy/<name>)"


# --- S3, KMS, CloudWatch Logs --------------------------------------------------------


@rule("s3-bucket-name", S3_NAMES, "aws:s3/bucket:Bucket")
def _bucket_name(request: Request) -> Iterator[str]:
    name = request.inputs.get("bucket")
    if not isinstance(name, str) or not known(name):
        return
    if not 3 <= len(name) <= 63:
        yield f"bucket name {name!r} is {len(name)} characters; S3 takes 3 to 63"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name) or ".." in name:
        yield (f"bucket name {name!r} may hold only lower-case letters, digits, '.' and '-', "
               "start and end with a letter or digit, and have no '..'")
    try:
        ipaddress.IPv4Address(name)
        yield f"bucket name {name!r} is formatted as an IP address"
    except ValueError:
        pass
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            yield f"bucket name {name!r} starts with {prefix!r}, which S3 reserves"
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            yield f"bucket name {name!r} ends with {suffix!r}, which S3 reserves"


@rule("s3-bucket-policy-size", S3_POLICY_SIZE, "aws:s3/bucketPolicy:BucketPolicy")
def _bucket_policy(request: Request) -> Iterator[str]:
    policy = plain(request.inputs.get("policy"))
    if isinstance(policy, str) and known(policy) and len(policy.encode()) > 20 * 1024:
        yield f"bucket policy of {len(policy.encode())} bytes; S3 takes at most 20 KB"


@rule("kms-key-policy-size", KMS_QUOTAS, "aws:kms/key:Key")
def _key_policy(request: Request) -> Iterator[str]:
    policy = plain(request.inputs.get("policy"))
    if isinstance(policy, str) and known(policy) and len(policy.encode()) > 32 * 1024:
        yield f"key policy of {len(policy.encode())} bytes; KMS takes at most 32 KB"
    window = request.inputs.get("deletionWindowInDays")
    if isinstance(window, int) and not 7 <= window <= 30:
        yield f"deletionWindowInDays {window}; KMS takes 7 to 30"


@rule("kms-alias-name", KMS_ALIAS, "aws:kms/alias:Alias")
def _alias_name(request: Request) -> Iterator[str]:
    name = request.inputs.get("name")
    if not isinstance(name, str) or not known(name):
        return
    if not re.fullmatch(r"alias/[a-zA-Z0-9:/_-]+", name) or len(name) > 256:
        yield f"alias {name!r} must be 'alias/' and 1 to 250 letters, digits or : / _ -"
    elif name.startswith("alias/aws/"):
        yield f"alias {name!r} starts with 'alias/aws/', which AWS reserves for its managed keys"


@rule("log-group", f"{LOGS_NAME}; {LOGS_RETENTION}", "aws:cloudwatch/logGroup:LogGroup")
def _log_group(request: Request) -> Iterator[str]:
    name, days = request.inputs.get("name"), request.inputs.get("retentionInDays")
    yield from _length("log group name", name, 1, 512)
    if isinstance(name, str) and known(name) and not re.fullmatch(r"[.\-_/#A-Za-z0-9]+", name):
        yield f"log group name {name!r} may hold only letters, digits and . - _ / #"
    if isinstance(days, int) and days not in LOG_RETENTION_DAYS:
        yield (f"retentionInDays {days}; CloudWatch Logs takes "
               f"{', '.join(str(d) for d in sorted(LOG_RETENTION_DAYS))} (or none, to keep forever)")


# --- the whole plan -----------------------------------------------------------------


RULE_BY_NAME = {r.name: r for r in RULES}
_SG_RULE_DIRECTION = {"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "ingress",
                      "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "egress"}


def _refusal(rule_: Rule, urn: str, message: str) -> str:
    return f"{urn}: {rule_.name}: {message} [{rule_.source}]"


def refusals(resources: Iterable[Any]) -> list[str]:
    """Every refusal AWS would give the plan's AWS resources (engine `Resource`s), in plan order."""
    resources = list(resources)
    providers = {f"{r.urn}::{r.id}": plain(r.inputs) for r in resources if r.type.startswith("pulumi:providers:")}
    by_id: dict[tuple[str, str], Request] = {}
    requests: list[Request] = []
    for resource in resources:
        if not resource.custom or not resource.type.startswith("aws:"):
            continue
        request = Request(resource.urn, resource.type, resource.id, plain(resource.inputs),
                          _default_tags(providers.get(resource.provider, {})),
                          lambda type_, id_: by_id.get((type_, id_)))
        requests.append(request)
        if resource.id:
            by_id[(resource.type, resource.id)] = request
    lines: list[str] = []
    for request in requests:
        for rule_ in RULES:
            if not rule_.types or request.type in rule_.types:
                lines += [_refusal(rule_, request.urn, m) for m in rule_.check(request)]
    return lines + _security_group_rules_per_group(requests) + _node_groups_per_cluster(requests)


def _default_tags(provider: dict[str, Any]) -> dict[str, Any]:
    """A provider's `defaultTags.tags`; the engine sends provider config objects as JSON strings."""
    value = provider.get("defaultTags")
    if isinstance(value, str) and known(value):
        value = json.loads(value)
    tags = value.get("tags") if isinstance(value, dict) else None
    return tags if isinstance(tags, dict) else {}


def _security_group_rules_per_group(requests: list[Request]) -> list[str]:
    group_urn = {r.id: r.urn for r in requests if r.type == "aws:ec2/securityGroup:SecurityGroup" and r.id}
    counts: Counter[tuple[str, str]] = Counter()
    for request in requests:
        if request.type == "aws:ec2/securityGroup:SecurityGroup":
            for direction in ("ingress", "egress"):
                counts[(request.urn, direction)] += len(request.inputs.get(direction) or [])
        direction = _SG_RULE_DIRECTION.get(request.type) or (
            request.inputs.get("type") if request.type == "aws:ec2/securityGroupRule:SecurityGroupRule" else None)
        group = request.inputs.get("securityGroupId")
        if direction and isinstance(group, str) and known(group):
            counts[(group_urn.get(group, group), direction)] += 1
    quota = RULE_BY_NAME["security-group-rules"]
    return [_refusal(quota, group, f"{count} {direction} rules; the quota is 60 per security group (raise it first)")
            for (group, direction), count in counts.items() if count > 60]


def _node_groups_per_cluster(requests: list[Request]) -> list[str]:
    per_cluster: dict[str, list[str]] = defaultdict(list)
    for request in requests:
        cluster = request.inputs.get("clusterName")
        if request.type == "aws:eks/nodeGroup:NodeGroup" and isinstance(cluster, str) and known(cluster):
            per_cluster[cluster].append(request.urn)
    quota = RULE_BY_NAME["eks-nodegroups-per-cluster"]
    return [_refusal(quota, urns[30], f"cluster {cluster!r} would have {len(urns)} managed node groups; "
                                      "the quota is 30 per cluster (raise it first)")
            for cluster, urns in per_cluster.items() if len(urns) > 30]
