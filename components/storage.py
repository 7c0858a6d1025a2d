"""Storage: the platform's S3 buckets (models, checkpoints, data) and their KMS key.

Both buckets refuse requests without TLS, block public access, enforce bucket
ownership, keep versions and expire what is no longer needed. The primary
bucket is encrypted with a customer-managed key that rotates; its access logs
land in the log bucket. Access is granted with `grant_read` /
`grant_read_write`, so no call site writes policy JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from gpu_platform.components import iam, naming
from gpu_platform.components.config import StorageConfig
from gpu_platform.components.labels import CostLabels

ABORT_MULTIPART_AFTER_DAYS = 7
READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"]
WRITE_ACTIONS = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]


def https_only_statements(bucket_arn: str, minimum_tls_version: str | None) -> list[iam.Statement]:
    """Deny every request to the bucket made without TLS, or (optionally) with TLS older than asked."""
    resources = [bucket_arn, f"{bucket_arn}/*"]
    statements = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if minimum_tls_version:
        statements.append(
            {
                "Sid": "DenyOutdatedTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"NumericLessThan": {"s3:TlsVersion": minimum_tls_version}},
            }
        )
    return statements


def access_log_delivery_statement(
    log_bucket_arn: str, prefix: str, source_bucket_arn: str, account_id: str
) -> iam.Statement:
    """Let S3's logging service, for this account's source bucket only, write under the log prefix."""
    return {
        "Sid": "S3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{log_bucket_arn}/{prefix}*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": source_bucket_arn},
            "StringEquals": {"aws:SourceAccount": account_id},
        },
    }


@dataclass(frozen=True)
class Grant:
    """What a role may do under one prefix of the primary bucket."""

    bucket_arn: str
    key_arn: str
    region: str
    prefix: str
    write: bool

    def statements(self) -> list[iam.Statement]:
        objects = f"{self.bucket_arn}/{self.prefix}*"
        via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}}
        key_actions = ["kms:Decrypt"] + (["kms:GenerateDataKey"] if self.write else [])
        return [
            iam.allow(
                ["s3:ListBucket"],
                [self.bucket_arn],
                sid="ListPrefix",
                conditions={"StringLike": {"s3:prefix": [f"{self.prefix}*"]}},
            ),
            iam.allow(READ_ACTIONS + (WRITE_ACTIONS if self.write else []), [objects], sid="Objects"),
            iam.allow(key_actions, [self.key_arn], sid="BucketKey", conditions=via_s3),
        ]


def bucket_arn(bucket: aws.s3.Bucket, partition: pulumi.Input[str]) -> pulumi.Output[str]:
    """arn:<partition>:s3:::<name>: S3 bucket ARNs name no region or account. Both parts are known in a
    first preview (the name is the program's, the partition an invoke's)."""
    return pulumi.Output.all(partition, bucket.bucket).apply(lambda found: f"arn:{found[0]}:s3:::{found[1]}")


class Storage(pulumi.ComponentResource):
    """A primary bucket encrypted with its own key, and a bucket for its access logs."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    log_bucket_name: pulumi.Output[str]
    key_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        config: StorageConfig,
        bucket_prefix: str,
        region: str,
        labels: CostLabels,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:Storage", name, None, opts)
        self._name, self._labels, self._region, self._prefix = name, labels, region, bucket_prefix
        self._config = config
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        # Stateful: protected, and kept in AWS even if removed from the program, unless config says otherwise.
        self._stateful = pulumi.ResourceOptions(parent=self, protect=config.protect, retain_on_delete=config.protect)

        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the objects of {name}",
            enable_key_rotation=True,
            deletion_window_in_days=30 if config.protect else 7,
            policy=account.apply(self._key_policy),
            tags=labels.aws_tags(f"{name}-key"),
            opts=self._stateful,
        )
        aws.kms.Alias(f"{name}-key", name=f"alias/{name}", target_key_id=key.key_id, opts=self._child())

        logs = self._bucket("logs", account)
        logs_settings = self._protect_bucket(f"{name}-logs", logs, sse_algorithm="AES256", key_arn=None)  # SSE-S3
        self._lifecycle(f"{name}-logs", logs, expire_days=config.access_log_retention_days, after=logs_settings)

        data = self._bucket("data", account)
        data_settings = self._protect_bucket(f"{name}-data", data, sse_algorithm="aws:kms", key_arn=key.arn)
        self._lifecycle(f"{name}-data", data, expire_days=None, after=data_settings)
        log_prefix = f"s3-access/{name}-data/"

        tls_floor = config.minimum_tls_version
        # ARNs built from the names the program chose, not read back from S3: a first preview knows them, so
        # the policy pack judges these documents before anything exists.
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        logs_arn, data_arn = bucket_arn(logs, partition), bucket_arn(data, partition)
        log_delivery = aws.s3.BucketPolicy(
            f"{name}-logs",
            bucket=logs.bucket,
            opts=self._child(),
            policy=pulumi.Output.all(logs_arn, data_arn, account).apply(
                lambda a: iam.document(
                    *https_only_statements(a[0], tls_floor), access_log_delivery_statement(a[0], log_prefix, a[1], a[2])
                )
            ),
        )
        # Logging starts once the log bucket accepts deliveries (its policy and ownership are in place).
        aws.s3.BucketLogging(
            f"{name}-data",
            bucket=data.bucket,
            target_bucket=logs.bucket,
            target_prefix=log_prefix,
            opts=self._child(depends_on=[log_delivery, *logs_settings]),
        )
        aws.s3.BucketPolicy(
            f"{name}-data",
            bucket=data.bucket,
            opts=self._child(),
            policy=data_arn.apply(lambda arn: iam.document(*https_only_statements(arn, tls_floor))),
        )

        self._data_arn, self._key_arn = data_arn, key.arn
        self.bucket_name, self.bucket_arn = data.bucket, data_arn
        self.log_bucket_name, self.key_arn = logs.bucket, key.arn
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "logBucketName": self.log_bucket_name,
                "keyArn": self.key_arn,
            }
        )

    # Grants ----------------------------------------------------------------

    def grant_read(self, grantee: iam.Grantee, prefix: str) -> aws.iam.RolePolicy:
        """Let the grantee's role list and read objects under `prefix` of the primary bucket (and decrypt them)."""
        return self._grant(grantee, prefix, write=False)

    def grant_read_write(self, grantee: iam.Grantee, prefix: str) -> aws.iam.RolePolicy:
        """Let the grantee's role read, write and delete objects under `prefix` of the primary bucket."""
        return self._grant(grantee, prefix, write=True)

    def _grant(self, grantee: iam.Grantee, prefix: str, write: bool) -> aws.iam.RolePolicy:
        if not prefix or "*" in prefix or "?" in prefix or prefix.startswith("/"):
            raise ValueError(f"grant prefix {prefix!r}: give a key prefix such as 'models/' (no wildcards)")
        prefix = prefix if prefix.endswith("/") else f"{prefix}/"
        access = "read-write" if write else "read"
        policy = pulumi.Output.all(self._data_arn, self._key_arn).apply(
            lambda arns: iam.document(*Grant(arns[0], arns[1], self._region, prefix, write).statements())
        )
        return aws.iam.RolePolicy(
            f"{grantee.name}-{access}-{prefix.strip('/').replace('/', '-')}",
            role=grantee.role.id,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=self),
        )

    # Building blocks -------------------------------------------------------

    def _child(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _bucket(self, purpose: str, account: pulumi.Output[str]) -> aws.s3.Bucket:
        name = f"{self._name}-{purpose}"
        return aws.s3.Bucket(
            name,
            bucket=account.apply(lambda acct: naming.bucket_name(self._prefix, purpose, acct, self._region)),
            force_destroy=not self._config.protect,
            tags=self._labels.aws_tags(name),
            opts=self._stateful,
        )

    def _protect_bucket(
        self, name: str, bucket: aws.s3.Bucket, sse_algorithm: str, key_arn: pulumi.Output[str] | None
    ) -> list[pulumi.Resource]:
        """Public access blocked, ownership enforced, versions kept, encrypted by default; returns the settings."""
        settings: list[pulumi.Resource] = [
            aws.s3.BucketPublicAccessBlock(
                name,
                bucket=bucket.bucket,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
                opts=self._child(),
            ),
            aws.s3.BucketOwnershipControls(
                name, bucket=bucket.bucket, rule={"object_ownership": "BucketOwnerEnforced"}, opts=self._child()
            ),
            aws.s3.BucketVersioning(
                name, bucket=bucket.bucket, versioning_configuration={"status": "Enabled"}, opts=self._child()
            ),
        ]
        default = {"sse_algorithm": sse_algorithm}
        if key_arn is not None:
            default["kms_master_key_id"] = key_arn
        settings.append(
            aws.s3.BucketServerSideEncryptionConfiguration(
                name,
                bucket=bucket.bucket,
                rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": key_arn is not None}],
                opts=self._child(),
            )
        )
        return settings

    def _lifecycle(
        self, name: str, bucket: aws.s3.Bucket, expire_days: int | None, after: list[pulumi.Resource]
    ) -> None:
        """Tidy rules; noncurrent-version expiry needs versioning on first."""
        rule = {
            "id": "tidy",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_AFTER_DAYS},
            "noncurrent_version_expiration": {"noncurrent_days": self._config.noncurrent_version_days},
        }
        if expire_days is not None:
            rule["expiration"] = {"days": expire_days}
        aws.s3.BucketLifecycleConfiguration(
            name, bucket=bucket.bucket, rules=[rule], opts=self._child(depends_on=after)
        )

    def _key_policy(self, account_id: str) -> str:
        """The account may manage and use the key through IAM; grants then scope each role."""
        return iam.document(
            {
                "Sid": "AccountAdministersThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        )
