"""CloudWatch Logs: log group names and retention."""

from __future__ import annotations

from collections.abc import Iterator

from gpu_platform.components import catalog
from gpu_platform.offline.rules import Request, named, rule

CREATE_LOG_GROUP = "docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"
PUT_RETENTION = (
    "docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html; "
    "terraform-provider-aws internal/service/logs/group.go"
)


@rule("log-group", f"{CREATE_LOG_GROUP}; {PUT_RETENTION}", "aws:cloudwatch/logGroup:LogGroup")
def _log_group(request: Request) -> Iterator[str]:
    name, days = request.inputs.get("name"), request.inputs.get("retentionInDays")
    yield from named(
        "log group name", name, 1, 512, r"[.\-_/#A-Za-z0-9]+", "may hold only letters, digits and . - _ / #"
    )
    # 0 means "never expire": the provider then calls no PutRetentionPolicy (terraform-provider-aws
    # internal/service/logs/group.go).
    if isinstance(days, int) and days != 0 and days not in catalog.LOG_RETENTION_DAYS:
        yield (
            f"retentionInDays {days}; CloudWatch Logs takes "
            f"{', '.join(str(d) for d in sorted(catalog.LOG_RETENTION_DAYS))} (or 0, to keep forever)"
        )
