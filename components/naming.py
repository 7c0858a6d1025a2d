"""S3 bucket names: derived from the project and stack, checked against S3's rules at config time.

A name is `<prefix>-<purpose>-<account id>-<region>`: globally unique without
random suffixes, and a reader of the bill knows whose bucket it is.
"""

from __future__ import annotations

import re

from pydantic_core import PydanticCustomError

PURPOSES = ("data", "logs")
ACCOUNT_ID_LENGTH = 12
LONGEST_REGION = "ap-southeast-1"
MAX_BUCKET_NAME = 63  # S3 general purpose bucket naming rules
# Lowercase letters, digits and hyphens; no dots (they break TLS for virtual-hosted requests).
_PREFIX = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_RESERVED_STARTS = ("xn--", "sthree-", "amzn-s3-demo-")


def bucket_name(prefix: str, purpose: str, account_id: str, region: str) -> str:
    return f"{prefix}-{purpose}-{account_id}-{region}"


def default_prefix(project: str, stack: str) -> str:
    return f"{project}-{stack}"


def check_bucket_prefix(prefix: str, region: str | None, chosen: bool) -> str:
    """The prefix, or a config error saying why its bucket names would be refused and what to do."""
    where = "" if chosen else " (derived from project-stack; set storage.bucketPrefix to choose one)"
    if not _PREFIX.fullmatch(prefix) or "--" in prefix or prefix.startswith(_RESERVED_STARTS):
        raise PydanticCustomError(
            "bucket",
            "'{prefix}'{where} is not usable in S3 bucket names: use lowercase letters, digits "
            "and single hyphens, starting and ending with a letter or digit",
            {"prefix": prefix, "where": where},
        )
    longest = bucket_name(prefix, max(PURPOSES, key=len), "0" * ACCOUNT_ID_LENGTH, region or LONGEST_REGION)
    if len(longest) > MAX_BUCKET_NAME:
        room = len(prefix) - (len(longest) - MAX_BUCKET_NAME)
        raise PydanticCustomError(
            "bucket",
            "'{prefix}'{where} makes bucket names of {length} characters ({example}); S3 allows "
            "{limit}: use a prefix of at most {room} characters",
            {
                "prefix": prefix,
                "where": where,
                "length": len(longest),
                "example": longest,
                "limit": MAX_BUCKET_NAME,
                "room": room,
            },
        )
    return prefix
