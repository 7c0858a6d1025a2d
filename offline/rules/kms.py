"""KMS: key policies and aliases."""

from __future__ import annotations

import re
from collections.abc import Iterator

from gpu_platform.offline.rules import Request, compact_json, known, plain, rule

QUOTAS = "docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html (key policy document size)"
CREATE_ALIAS = "docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html"


@rule("kms-key-policy-size", QUOTAS, "aws:kms/key:Key")
def _key_policy(request: Request) -> Iterator[str]:
    policy = compact_json(plain(request.inputs.get("policy")))
    if policy is not None and len(policy.encode()) > 32 * 1024:
        yield f"key policy of {len(policy.encode())} bytes (without white space); KMS takes at most 32 KB"
    window = request.inputs.get("deletionWindowInDays")
    if isinstance(window, int) and not 7 <= window <= 30:
        yield f"deletionWindowInDays {window}; KMS takes 7 to 30"


@rule("kms-alias-name", CREATE_ALIAS, "aws:kms/alias:Alias")
def _alias_name(request: Request) -> Iterator[str]:
    name = request.inputs.get("name")
    if not isinstance(name, str) or not known(name):
        return
    if not re.fullmatch(r"alias/[a-zA-Z0-9:/_-]+", name) or len(name) > 256:
        yield f"alias {name!r} must be 'alias/' and 1 to 250 letters, digits or : / _ -"
    elif name.startswith("alias/aws/"):
        yield f"alias {name!r} starts with 'alias/aws/', which AWS reserves for its managed keys"
