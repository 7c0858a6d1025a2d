"""AWS Regions the platform can be deployed to: partition, Availability Zones, opt-in.

Sources: docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html (codes, and
"Regions introduced after March 20, 2019 are disabled by default": the opt-in ones) and
aws-availability-zones.html; China (aws-cn) and GovCloud (aws-us-gov) are their own partitions
(docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html). Zones are the names a new account
sees (names map to physical zones per account; us-west-1 and ap-northeast-1 offer new accounts
fewer zones than they have). tests/test_regions.py checks this table against cfn-lint's
(an independent copy). Read 2026-11-25; a Region launched since then is refused by the config
until it is added here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    code: str
    zone_letters: str
    opt_in: bool = False

    @property
    def partition(self) -> str:
        if self.code.startswith("cn-"):
            return "aws-cn"
        if self.code.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(self.code + letter for letter in self.zone_letters)

    @property
    def dns_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"


REGIONS: dict[str, Region] = {
    r.code: r
    for r in (
        Region("us-east-1", "abcdef"),
        Region("us-east-2", "abc"),
        Region("us-west-1", "ac"),
        Region("us-west-2", "abcd"),
        Region("ca-central-1", "abd"),
        Region("ca-west-1", "abc", opt_in=True),
        Region("mx-central-1", "abc", opt_in=True),
        Region("sa-east-1", "abc"),
        Region("eu-west-1", "abc"),
        Region("eu-west-2", "abc"),
        Region("eu-west-3", "abc"),
        Region("eu-central-1", "abc"),
        Region("eu-central-2", "abc", opt_in=True),
        Region("eu-north-1", "abc"),
        Region("eu-south-1", "abc", opt_in=True),
        Region("eu-south-2", "abc", opt_in=True),
        Region("af-south-1", "abc", opt_in=True),
        Region("il-central-1", "abc", opt_in=True),
        Region("me-south-1", "abc", opt_in=True),
        Region("me-central-1", "abc", opt_in=True),
        Region("ap-south-1", "abc"),
        Region("ap-south-2", "abc", opt_in=True),
        Region("ap-northeast-1", "acd"),
        Region("ap-northeast-2", "abcd"),
        Region("ap-northeast-3", "abc"),
        Region("ap-southeast-1", "abc"),
        Region("ap-southeast-2", "abc"),
        Region("ap-southeast-3", "abc", opt_in=True),
        Region("ap-southeast-4", "abc", opt_in=True),
        Region("ap-southeast-5", "abc", opt_in=True),
        Region("ap-southeast-6", "abc", opt_in=True),
        Region("ap-southeast-7", "abc", opt_in=True),
        Region("ap-east-1", "abc", opt_in=True),
        Region("ap-east-2", "abc", opt_in=True),
        Region("cn-north-1", "abc"),
        Region("cn-northwest-1", "abc"),
        Region("us-gov-west-1", "abc"),
        Region("us-gov-east-1", "abc"),
    )
}


def region_problem(code: str) -> str | None:
    """Why `code` is no Region the platform knows (with the nearest one), or None."""
    if code in REGIONS:
        return None
    near = difflib.get_close_matches(code, REGIONS, n=1, cutoff=0.8)
    if near:
        return f"is not an AWS Region; did you mean {near[0]}?"
    return f"is not an AWS Region (known: {', '.join(sorted(REGIONS))}; a newer one goes in components/regions.py)"
