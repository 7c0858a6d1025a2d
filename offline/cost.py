"""`python -m offline cost PLAN [--format text|json]`: what a stack costs by the hour and the month.

Priced by the pack's own cost module (policies/cost.py, prices in policies/prices.json), so the figures
here and the gpu-budget rule's agree. Per resource, per component, per GPU pool and per stack, at floor
(minSize), expected (desiredSize) and ceiling (maxSize), with the GPUs at each point.
"""

from __future__ import annotations

import datetime
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from gpu_platform.offline.review import ReviewError, load_deployment, stack_of
from gpu_platform.policies.cost import (
    HOURS_PER_MONTH,
    POINTS,
    USAGE,
    Line,
    PriceTable,
    gpus_of,
    price_stack,
    price_table,
    usage_rates,
)

FORMATS = ("text", "json")


@dataclass
class Entry:
    """A resource of a deployment as the pack's cost module reads it (the shape of pulumi_policy's)."""

    resource_type: str
    props: dict[str, Any]
    urn: str
    name: str
    provider: Entry | None = None
    parent: str | None = None
    dependencies: list[Any] = field(default_factory=list)
    property_dependencies: dict[str, list[Any]] = field(default_factory=dict)


def entries(document: dict[str, Any]) -> list[Entry]:
    """The deployment's resources with their inputs (and id, as launch templates are looked up by it)."""
    resources = document["deployment"]["resources"]
    made = {
        r["urn"]: Entry(
            r["type"],
            {**(r.get("inputs") or {}), **({"id": r["id"]} if r.get("id") else {})},
            r["urn"],
            r["urn"].rsplit("::", 1)[-1],
            parent=r.get("parent"),
        )
        for r in resources
    }
    for r in resources:
        provider = str(r.get("provider") or "").rsplit("::", 1)[0]
        made[r["urn"]].provider = made.get(provider)
    return list(made.values())


def component_of(entry: Entry, by_urn: dict[str, Entry], single_root: bool) -> str:
    """The component a resource belongs to: its top-level component, or the one below it where the program
    has one root (the platform's Platform): `Cluster gpu-platform-prod-cluster`."""
    chain: list[Entry] = []
    parent = by_urn.get(entry.parent or "")
    while parent is not None and parent.resource_type != "pulumi:pulumi:Stack":
        chain.insert(0, parent)
        parent = by_urn.get(parent.parent or "")
    if single_root and len(chain) > 1:
        chain = chain[1:]
    if not chain:
        return "stack"
    top = chain[0]
    return f"{top.resource_type.rsplit(':', 1)[-1]} {top.name}"


@dataclass
class Costing:
    """A stack's priced lines, grouped, with what could not be priced."""

    stack: str
    regions: list[str]
    read: str
    lines: list[Line]
    components: dict[str, str]  # urn -> component
    usage: dict[str, Any]

    def total(self, lines: list[Line] | None = None) -> dict[str, float]:
        chosen = self.lines if lines is None else lines
        return {p: sum(line.usd_per_hour[p] for line in chosen) for p in POINTS}

    def pools(self) -> dict[str, list[Line]]:
        found: dict[str, list[Line]] = {}
        for line in self.lines:
            if line.pool:
                found.setdefault(line.pool, []).append(line)
        return found

    def by_component(self) -> dict[str, list[Line]]:
        found: dict[str, list[Line]] = {}
        for line in self.lines:
            found.setdefault(self.components[line.urn], []).append(line)
        return found

    def unpriced(self) -> list[str]:
        """What has no price, each once, with the resources it concerns."""
        names: dict[str, list[str]] = {}
        for line in self.lines:
            for what in line.unpriced:
                names.setdefault(what, []).append(line.name)
        return [f"{what} ({', '.join(found)})" for what, found in sorted(names.items())]

    def caveats(self) -> list[str]:
        return sorted({f"{line.name}: {line.caveat}" for line in self.lines if line.caveat})

    def gpus(self) -> dict[str, dict[str, int]]:
        return {p: gpus_of(self.lines, p) for p in POINTS}


def cost_of(document: dict[str, Any], today: datetime.date | None = None, table: PriceTable | None = None) -> Costing:
    """Price a deployment; ReviewError where a region it uses has no prices at all."""
    table = table or price_table()
    found = entries(document)
    regions = sorted({r for e in found if e.resource_type == "pulumi:providers:aws" for r in [_region(e)] if r})
    unknown = [r for r in regions if r not in table.regions()]
    if unknown:
        raise ReviewError(
            f"no prices for region {', '.join(unknown)} in policies/prices.json "
            f"(priced: {', '.join(sorted(table.regions()))}); add its prices with their sources"
        )
    lines = price_stack(found, table, today)
    by_urn = {e.urn: e for e in found}
    parents = {e.parent for e in found}
    stack_urns = {e.urn for e in found if e.resource_type == "pulumi:pulumi:Stack"}
    roots = [e for e in found if e.parent in stack_urns and e.urn in parents]
    components = {line.urn: component_of(by_urn[line.urn], by_urn, len(roots) == 1) for line in lines}
    usage = {item: price for region in regions for item, price in usage_rates(found, region, table).items()}
    return Costing(stack_of(document), regions, table.read, lines, components, usage)


def _region(entry: Entry) -> str | None:
    region = entry.props.get("region")
    return region if isinstance(region, str) and region else None


def money(usd: float) -> str:
    """Dollars with cents, and to a hundredth of a cent under a dollar (a KMS key is $0.0014 an hour)."""
    return f"${usd:,.2f}" if usd >= 1 or usd == 0 else f"${usd:.4f}"


def gpu_text(gpus: dict[str, int]) -> str:
    return ", ".join(f"{n} x {model}" for model, n in sorted(gpus.items())) or "none"


def _row(label: str, usd: dict[str, float], gpus: dict[str, dict[str, int]] | None = None, what: str = "") -> str:
    cells = "".join(f"{money(usd[p]):>13}" for p in POINTS)
    counts = "/".join(str(sum(gpus[p].values())) for p in POINTS) if gpus else ""
    return f"  {label:<44}{cells}  {counts:<9} {what}".rstrip()


def to_text(costing: Costing) -> str:
    """Per component (its resources below it), per GPU pool, the stack; then what is not in the figures."""
    out = [
        (
            f"Cost of stack {costing.stack} in {', '.join(costing.regions) or 'an unknown region'}: AWS list "
            f"prices read {costing.read} (policies/prices.json); a month is {HOURS_PER_MONTH} hours"
        ),
        f"  {'$ per hour':<44}{'floor':>13}{'expected':>13}{'ceiling':>13}  {'GPUs':<9} what",
    ]
    for component, lines in sorted(costing.by_component().items()):
        out.append(_row(component, costing.total(lines)))
        for line in lines:
            out.append(_row(f"  {line.name}", line.usd_per_hour, line.gpus if line.pool else None, line.what))
    for pool, lines in sorted(costing.pools().items()):
        out.append(_row(f"GPU pool {pool}", costing.total(lines), {p: gpus_of(lines, p) for p in POINTS}))
    total = costing.total()
    out.append(_row("stack, per hour", total, costing.gpus()))
    out.append(_row("stack, per month", {p: total[p] * HOURS_PER_MONTH for p in POINTS}))
    out.append("GPUs: " + "; ".join(f"{p} {gpu_text(g)}" for p, g in costing.gpus().items()))
    if costing.unpriced():
        out.append("Not priced (no price in the table, so not in the figures): " + "; ".join(costing.unpriced()))
    for caveat in costing.caveats():
        out.append(f"Caveat: {caveat}")
    if costing.usage:
        rates = [
            f"{USAGE[item]} {money(price.usd) if price else 'unpriced'}"
            for item, price in sorted(costing.usage.items())
        ]
        out.append("Charged by use, not in the figures: " + "; ".join(rates))
    return "\n".join(out)


def summary_line(costing: Costing) -> str:
    """One line for `make plan`: the stack at each point, and its GPUs."""
    total = costing.total()
    gpus = costing.gpus()
    text = ", ".join(
        f"{p} {money(total[p])}/h ({money(total[p] * HOURS_PER_MONTH)}/month, {sum(gpus[p].values())} GPUs)"
        for p in POINTS
    )
    more = " + unpriced items" if costing.unpriced() else ""
    return f"Cost: {text}{more} (python -m offline cost for the breakdown)"


def to_json(costing: Costing) -> dict[str, Any]:
    def figures(usd: dict[str, float], gpus: dict[str, dict[str, int]]) -> dict[str, Any]:
        return {
            "usdPerHour": {p: round(usd[p], 4) for p in POINTS},
            "usdPerMonth": {p: round(usd[p] * HOURS_PER_MONTH, 2) for p in POINTS},
            "gpus": gpus,
        }

    def of(lines: list[Line]) -> dict[str, Any]:
        return figures(costing.total(lines), {p: gpus_of(lines, p) for p in POINTS})

    return {
        "stack": costing.stack,
        "regions": costing.regions,
        "pricesRead": costing.read,
        "hoursPerMonth": HOURS_PER_MONTH,
        "total": of(costing.lines),
        "pools": {pool: of(lines) for pool, lines in sorted(costing.pools().items())},
        "components": {name: of(lines) for name, lines in sorted(costing.by_component().items())},
        "resources": [
            {
                "urn": line.urn,
                "type": line.resource_type,
                "what": line.what,
                "component": costing.components[line.urn],
                "pool": line.pool,
                **figures(line.usd_per_hour, line.gpus),
                "unpriced": line.unpriced,
                "caveat": line.caveat,
            }
            for line in costing.lines
        ],
        "unpriced": costing.unpriced(),
        "usage": {
            item: ({"usd": price.usd, "source": price.source} if price else None)
            for item, price in sorted(costing.usage.items())
        },
    }


def run(path: Path, fmt: str = "text", out: TextIO | None = None) -> int:
    """The `cost` subcommand: 0 priced (unpriced items are listed, not fatal), 2 the input is not usable."""
    out = out or sys.stdout
    try:
        costing = cost_of(load_deployment(path))
    except ReviewError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(to_text(costing) if fmt == "text" else json.dumps(to_json(costing), indent=2), file=out)
    return 0
