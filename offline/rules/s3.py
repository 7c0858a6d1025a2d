"""S3: bucket names and bucket policies."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from gpu_platform.offline.rules import Request, compact_json, known, plain, rule

NAMES = "docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"
POLICY_SIZE = "docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html (20 KB)"


@rule("s3-bucket-name", NAMES, "aws:s3/bucket:Bucket")
def _bucket_name(request: Request) -> Iterator[str]:
    name = request.inputs.get("bucket")
    if not isinstance(name, str) or not known(name):
        return
    if not 3 <= len(name) <= 63:
        yield f"bucket name {name!r} is {len(name)} characters; S3 takes 3 to 63"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name) or ".." in name:
        yield (
            f"bucket name {name!r} may hold only lower-case letters, digits, '.' and '-', "
            "start and end with a letter or digit, and have no '..'"
        )
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


@rule("s3-bucket-policy-size", POLICY_SIZE, "aws:s3/bucketPolicy:BucketPolicy")
def _bucket_policy(request: Request) -> Iterator[str]:
    policy = compact_json(plain(request.inputs.get("policy")))
    if policy is not None and len(policy.encode()) > 20 * 1024:
        yield f"bucket policy of {len(policy.encode())} bytes (without white space); S3 takes at most 20 KB"
