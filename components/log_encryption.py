"""A customer-managed key for the stack's CloudWatch log groups (VPC flow logs, container logs).

CloudWatch Logs uses the key as the service principal logs.<region>.amazonaws.com, and the key policy
admits it only with the encryption context of the named log groups (kms:EncryptionContext:aws:logs:arn;
CloudWatch Logs user guide, "Encrypt log data in CloudWatch Logs using AWS KMS"). The key exists before
the log groups: CloudWatch Logs checks the key when a group is created with it.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
from gpu_platform.components import iam
from gpu_platform.components.labels import CostLabels

LOGS_ACTIONS = ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"]


def log_group_arn(partition: str, region: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:logs:{region}:{account_id}:log-group:{name}"


def key_policy(
    partition: str, region: str, account_id: str, log_groups: list[str], dns_suffix: str = "amazonaws.com"
) -> str:
    """The account administers the key through IAM; CloudWatch Logs may use it for these groups only."""
    return iam.document(
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsForTheseGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.{dns_suffix}"},
            "Action": LOGS_ACTIONS,
            "Resource": "*",
            "Condition": {
                "ArnEquals": {
                    "kms:EncryptionContext:aws:logs:arn": [
                        log_group_arn(partition, region, account_id, name) for name in sorted(log_groups)
                    ]
                }
            },
        },
    )


def log_group_key(
    name: str,
    region: str,
    log_groups: list[str],
    labels: CostLabels,
    protect: bool,
    provider: aws.Provider,
    opts: pulumi.ResourceOptions,
) -> aws.kms.Key:
    """A rotating key the named log groups are encrypted with; protected where the stack keeps its data."""
    invoke = pulumi.InvokeOutputOptions(parent=opts.parent, provider=provider)
    account = aws.get_caller_identity_output(opts=invoke).account_id
    partition = aws.get_partition_output(opts=invoke)
    return aws.kms.Key(
        name,
        description=f"Encrypts the CloudWatch log groups of {name.removesuffix('-logs')}",
        enable_key_rotation=True,
        deletion_window_in_days=30 if protect else 7,
        policy=pulumi.Output.all(partition.partition, account, partition.dns_suffix).apply(
            lambda found: key_policy(found[0], region, found[1], log_groups, found[2])
        ),
        tags=labels.aws_tags(name),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=protect, retain_on_delete=protect)),
    )
