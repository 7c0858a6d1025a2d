"""Production only: stateful resources survive a mistaken delete; the cluster API is private and encrypts secrets.

Which stacks count as production is config (`stacks`, default ["prod"]), matched
against the stack named in each resource's URN.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy
from pulumi_policy.proxy import UnknownValueError

from .shapes import as_list, dig, mapping, setting, stack_of

STACKS = {
    "stacks": {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "default": ["prod"],
        "description": "Stacks (the name in each URN) these rules apply to.",
    }
}
STATEFUL_TYPES = [
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:kms/key:Key",
    "aws:efs/fileSystem:FileSystem",
    "aws:dynamodb/table:Table",
    "aws:rds/cluster:Cluster",
    "aws:rds/instance:Instance",
    "aws:ecr/repository:Repository",
]
PROTECT_SCHEMA = {
    **STACKS,
    "statefulTypes": {
        "type": "array",
        "items": {"type": "string"},
        "default": STATEFUL_TYPES,
        "description": "Resource types that hold data and must be protected from deletion.",
    },
}


def _applies(args, schema) -> bool:
    return stack_of(args.urn) in setting(args, schema, "stacks")


def _protect_stateful(args, report_violation) -> None:
    if not _applies(args, PROTECT_SCHEMA) or args.resource_type not in setting(args, PROTECT_SCHEMA, "statefulTypes"):
        return
    if not args.opts.protect:
        report_violation(f"{args.name}: not protected from deletion (protect is off) in stack {stack_of(args.urn)}")
    if args.props.get("forceDestroy") is True:
        report_violation(f"{args.name}: forceDestroy is on, so deleting it would delete its objects")


protect_stateful = ResourceValidationPolicy(
    name="prod-protect-stateful",
    description=(
        "In production, stateful resources (buckets, KMS keys, ...) are protected from deletion: "
        "set storage.protect: true in Pulumi.<stack>.yaml (protect=True, no forceDestroy)."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties=PROTECT_SCHEMA),
    validate=_protect_stateful,
)


def _names_a_key(provider) -> bool:
    if "keyArn" not in list(provider):  # keys only: `in` on pulumi_policy's proxy would read the value
        return False
    try:
        key = provider["keyArn"]
    except UnknownValueError:
        return True
    return isinstance(key, str) and bool(key)


def _cluster_problems(type_token: str, props) -> list[str]:
    # The EKS cluster itself, as pulumi-eks registers it; its component reaches the analyzer without inputs.
    if type_token == "aws:eks/cluster:Cluster":
        public = dig(props, "vpcConfig", "endpointPublicAccess")
        # A key must be named: a non-empty ARN, or one a first preview cannot know yet (the key is created in
        # the same update), which counts as named rather than making the rule skip.
        configs = as_list(props.get("encryptionConfig"))  # one object, or a list of them
        encrypted = any(
            "secrets" in as_list(mapping(c).get("resources")) and _names_a_key(mapping(mapping(c).get("provider")))
            for c in configs
        )
    else:
        return []
    result = []
    if public is not False:
        result.append("the public API endpoint is on (set endpointPublicAccess: false)")
    if not encrypted:
        result.append("Kubernetes secrets are not encrypted with a KMS key (set encryptionConfigKeyArn)")
    return result


def _private_encrypted_cluster(args, report_violation) -> None:
    if not _applies(args, STACKS):
        return
    for problem in _cluster_problems(args.resource_type, args.props):
        report_violation(f"{args.name}: {problem}")


private_encrypted_cluster = ResourceValidationPolicy(
    name="prod-cluster-private-encrypted",
    description=(
        "In production, the EKS API endpoint is private only and secrets are envelope-encrypted with "
        "KMS: set cluster.endpointPublicAccess: false and give the cluster an encryption key."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties=STACKS),
    validate=_private_encrypted_cluster,
)
