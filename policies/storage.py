"""Storage: every bucket refuses plain HTTP, blocks public access and encrypts by default."""

from __future__ import annotations

from fnmatch import fnmatchcase

from pulumi_policy import EnforcementLevel, StackValidationPolicy

from .shapes import BUCKET_TYPES, as_list, dig, items, mapping, policy_document, statements

POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")


def _covers(patterns: list, value: str) -> bool:
    return any(isinstance(p, str) and fnmatchcase(value, p) for p in patterns)


def denies_plain_http(document, bucket: str) -> bool:
    """A Deny of every S3 action to everyone on the bucket and its objects when aws:SecureTransport is false."""
    for s in statements(document):
        # Whatever the partition (aws, aws-cn, aws-us-gov, ...): the statement names this bucket.
        partitions = {str(r).split(":")[1] for r in as_list(s.get("Resource")) if str(r).startswith("arn:")}
        arn = f"arn:{next(iter(partitions), 'aws')}:s3:::{bucket}"
        principal = s.get("Principal")
        everyone = principal == "*" or as_list(mapping(principal).get("AWS")) == ["*"]
        secure = mapping(dig(s, "Condition", "Bool")).get("aws:SecureTransport")
        if (
            s.get("Effect") == "Deny"
            and everyone
            and str(secure).lower() == "false"
            and _covers(as_list(s.get("Action")), "s3:GetObject")
            and _covers(as_list(s.get("Action")), "s3:PutObject")
            and _covers(as_list(s.get("Resource")), arn)
            and _covers(as_list(s.get("Resource")), f"{arn}/x")
        ):
            return True
    return False


def _bucket_name(bucket) -> str | None:
    name = bucket.props.get("bucket")
    return name if isinstance(name, str) and name else None


def _bucket_hardening(args, report_violation) -> None:
    settings: dict[str, dict[str, list]] = {}
    for r in args.resources:  # what names a bucket: its policy, public access block, encryption (and itself)
        target = r.props.get("bucket")
        if isinstance(target, str):
            settings.setdefault(target, {}).setdefault(r.resource_type, []).append(r)
    for bucket in args.resources:
        if bucket.resource_type not in BUCKET_TYPES:
            continue
        name = _bucket_name(bucket)
        if name is None:
            continue  # not known until the bucket exists; judged at `pulumi up`
        mine = settings[name]  # the bucket names itself
        documents = [policy_document(p.props.get("policy")) for p in mine.get(POLICY, [])]
        documents.append(policy_document(bucket.props.get("policy")))  # the deprecated inline policy
        if not any(denies_plain_http(d, name) for d in documents):
            report_violation(
                f"{bucket.name}: no bucket policy denies requests without TLS "
                "(Deny s3:* to * on the bucket and its objects when aws:SecureTransport is false)",
                bucket.urn,
            )
        blocks = mine.get(PUBLIC_ACCESS_BLOCK)
        unset = sorted({f for b in blocks for f in BLOCK_FLAGS if b.props.get(f) is not True}) if blocks else None
        if unset is None:
            report_violation(f"{bucket.name}: no public access block", bucket.urn)
        elif unset:
            report_violation(f"{bucket.name}: public access block does not set {', '.join(unset)}", bucket.urn)
        rules = [
            mapping(rule)
            for c in (r for t in ENCRYPTION for r in mine.get(t, []))
            for rule in items(c.props.get("rules"))
        ]
        inline = dig(bucket.props, "serverSideEncryptionConfiguration", "rule")  # the deprecated inline form
        if inline is not None:
            rules.append(mapping(inline))
        algorithms = [dig(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in rules]
        if not any(a in SSE_ALGORITHMS for a in algorithms):
            report_violation(
                f"{bucket.name}: no default encryption (server-side encryption configuration with "
                f"sseAlgorithm {' or '.join(SSE_ALGORITHMS)})",
                bucket.urn,
            )


bucket_hardening = StackValidationPolicy(
    name="bucket-hardening",
    description=(
        "Every S3 bucket has a policy denying requests without TLS, a full public access block and "
        "default encryption: build buckets with components/storage.py Storage."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_bucket_hardening,
)
