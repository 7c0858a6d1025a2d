"""IPv4 address plan: how the VPC CIDR is cut into a public and a private subnet per AZ.

The lower half of the VPC holds the private subnets, where nodes and pods live
(the VPC CNI gives every pod a VPC address, so they get the room). The upper
half holds the public subnets, a quarter the size of a private one, for load
balancers and NAT gateways; the rest of the upper half stays free for later.
Subnets are cut for eight AZs whatever the AZ count (at most six), so adding
an AZ later never moves an existing subnet.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from pydantic_core import PydanticCustomError

# Private ranges AWS recommends for VPCs (RFC 1918) and carrier-grade NAT space.
PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
# AWS: a VPC CIDR block is between /16 and /28.
LARGEST_VPC_PREFIX = 16
# A private subnet must fit a few nodes with their pods' addresses.
SMALLEST_PRIVATE_PREFIX = 24
# A public subnet must fit load balancer and NAT interfaces (AWS minimum /28).
SMALLEST_PUBLIC_PREFIX = 28
PUBLIC_TO_PRIVATE_BITS = 2
# Room for 8 AZs in each half: azCount may grow up to its maximum of 6 without moving a subnet.
SLOT_BITS = 3


class LayoutError(ValueError):
    """The VPC CIDR has no room for the subnets the AZ count needs."""


@dataclass(frozen=True)
class SubnetLayout:
    private: tuple[ipaddress.IPv4Network, ...]
    public: tuple[ipaddress.IPv4Network, ...]


def parse_ipv4_network(text: str) -> ipaddress.IPv4Network:
    """Parse `a.b.c.d/n` strictly, or raise a config error that says the fix."""
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            raise PydanticCustomError(
                "cidr", "must be an IPv4 CIDR block such as 10.0.0.0/16 (got '{got}')", {"got": text}
            ) from None
        raise PydanticCustomError(
            "cidr", "{got} has host bits set; did you mean {fixed}?", {"got": text, "fixed": str(loose)}
        ) from None


def check_vpc_cidr(text: str) -> ipaddress.IPv4Network:
    network = parse_ipv4_network(text)
    if not any(network.subnet_of(r) for r in PRIVATE_RANGES):
        raise PydanticCustomError(
            "cidr",
            "{got} is not a private range; use one inside {ranges}",
            {"got": text, "ranges": ", ".join(str(r) for r in PRIVATE_RANGES)},
        )
    if network.prefixlen < LARGEST_VPC_PREFIX:
        raise PydanticCustomError(
            "cidr", "{got} is larger than AWS allows for a VPC; use a /16 to /24 block", {"got": text}
        )
    return network


def subnet_layout(vpc: ipaddress.IPv4Network, az_count: int) -> SubnetLayout:
    """The private and public subnet of each AZ, in AZ order; never overlapping."""
    private_prefix = vpc.prefixlen + 1 + SLOT_BITS
    public_prefix = private_prefix + PUBLIC_TO_PRIVATE_BITS
    if private_prefix > SMALLEST_PRIVATE_PREFIX or public_prefix > SMALLEST_PUBLIC_PREFIX:
        largest = SMALLEST_PRIVATE_PREFIX - 1 - SLOT_BITS
        raise LayoutError(
            f"{vpc} is too small: private subnets would be /{private_prefix} (at most /{SMALLEST_PRIVATE_PREFIX}, "
            f"cut for up to 8 AZs); use a /{largest} or larger block"
        )
    lower, upper = vpc.subnets(prefixlen_diff=1)
    private = tuple(lower.subnets(new_prefix=private_prefix))[:az_count]
    public = tuple(upper.subnets(new_prefix=public_prefix))[:az_count]
    return SubnetLayout(private=private, public=public)
