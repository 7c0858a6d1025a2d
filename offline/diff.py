"""`python -m offline diff BASE HEAD`: what a change does to a stack, for a pull-request comment.

Resources are matched by URN: added, removed, and changed (the input paths that differ, with old and new
values; secrets stay hidden). Then what the change does to the cost at floor, expected and ceiling
(offline/cost.py, so the figures are those of `offline cost`) and to the GPUs, per pool and for the stack.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from gpu_platform.offline.cost import Costing, cost_of, gpu_text, money
from gpu_platform.offline.review import ReviewError, load_deployment, stack_of
from gpu_platform.policies.cost import HOURS_PER_MONTH, POINTS, gpus_of

FORMATS = ("markdown", "text", "json")
SECRET = "4dabf18193072939515e22adb298388d"  # the `pulumi stack export` signature key of a secret value
SHOWN_CHANGES = 12  # input paths listed per changed resource; the rest are counted


@dataclass(frozen=True)
class Changed:
    urn: str
    type: str
    paths: list[tuple[str, Any, Any]]  # (dotted path, before, after)


@dataclass
class Diff:
    stack: str
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    changed: list[Changed]
    base: Costing
    head: Costing


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Inputs as dotted paths to leaves; a secret is one leaf, shown as [secret]."""
    if isinstance(value, dict) and value.get(SECRET) is not None:
        return {prefix: "[secret]"}
    if isinstance(value, dict) and value:
        return {
            k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}.{key}" if prefix else key).items()
        }
    if isinstance(value, list) and value:
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}[{i}]").items()}
    return {prefix: value}


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    old, new = _flat(before), _flat(after)
    return [
        (path, old.get(path), new.get(path))
        for path in sorted(old.keys() | new.keys())
        if old.get(path) != new.get(path)
    ]


def diff_of(base: dict[str, Any], head: dict[str, Any]) -> Diff:
    """The change from one deployment of a stack to another; ReviewError if they are different stacks."""
    if stack_of(base) != stack_of(head):
        raise ReviewError(f"base is stack {stack_of(base)}, head is stack {stack_of(head)}: compare one stack's plans")
    old = {r["urn"]: r for r in base["deployment"]["resources"]}
    new = {r["urn"]: r for r in head["deployment"]["resources"]}
    changed = []
    for urn in sorted(old.keys() & new.keys()):
        paths = _changes(old[urn].get("inputs") or {}, new[urn].get("inputs") or {})
        if paths:
            changed.append(Changed(urn, new[urn]["type"], paths))
    return Diff(
        stack_of(head),
        [new[u] for u in sorted(new.keys() - old.keys())],
        [old[u] for u in sorted(old.keys() - new.keys())],
        changed,
        cost_of(base),
        cost_of(head),
    )


def _signed(usd: float) -> str:
    return ("+" if usd > 0 else "-" if usd < 0 else "±") + money(abs(usd))


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return "(none)" if value is None else (text if len(text) <= 60 else text[:57] + "...")


def _code(value: Any) -> str:
    """A value as a Markdown code span, so it renders as text (no HTML, no table breaks)."""
    return "`" + _shown(value).replace("`", "'") + "`"


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def pool_changes(d: Diff) -> list[tuple[str, dict[str, float], dict[str, float], str, str]]:
    """(pool, $/h before, $/h after, GPUs before, GPUs after) of every pool whose figures changed."""
    old, new = d.base.pools(), d.head.pools()
    rows = []
    for pool in sorted(old.keys() | new.keys()):
        before, after = d.base.total(old.get(pool, [])), d.head.total(new.get(pool, []))
        gpus = [
            "/".join(str(sum(gpus_of(lines, p).values())) for p in POINTS)
            for lines in (old.get(pool, []), new.get(pool, []))
        ]
        if before != after or gpus[0] != gpus[1]:
            rows.append((pool, before, after, gpus[0], gpus[1]))
    return rows


def to_markdown(d: Diff) -> str:
    before, after = d.base.total(), d.head.total()
    out = [
        f"### Change to stack `{d.stack}`: {len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed",
        "",
        "| $ per hour | floor | expected | ceiling |",
        "|---|---:|---:|---:|",
        f"| before | {' | '.join(money(before[p]) for p in POINTS)} |",
        f"| after | {' | '.join(money(after[p]) for p in POINTS)} |",
        f"| **change** | {' | '.join(f'**{_signed(after[p] - before[p])}**' for p in POINTS)} |",
        f"| change per month | {' | '.join(_signed((after[p] - before[p]) * HOURS_PER_MONTH) for p in POINTS)} |",
        "",
    ]
    old_gpus, new_gpus = d.base.gpus(), d.head.gpus()
    out.append(
        "GPUs: "
        + "; ".join(
            f"{p} {gpu_text(old_gpus[p])} → {gpu_text(new_gpus[p])}"
            if old_gpus[p] != new_gpus[p]
            else f"{p} unchanged ({gpu_text(new_gpus[p])})"
            for p in POINTS
        )
    )
    rows = pool_changes(d)
    if rows:
        out += [
            "",
            "| GPU pool | ceiling $/h before | after | GPUs before (floor/expected/ceiling) | after |",
            "|---|---:|---:|---|---|",
        ]
        out += [
            f"| `{pool}` | {money(b['ceiling'])} | {money(a['ceiling'])} | {gb} | {ga} |" for pool, b, a, gb, ga in rows
        ]
    unpriced = sorted(set(d.head.unpriced()) - set(d.base.unpriced()))
    if unpriced:
        out += ["", "Not priced (not in the figures): " + "; ".join(unpriced)]
    out += ["", "<details><summary>Resources</summary>", ""]
    out += [f"- added `{r['type']}` **{_name(r['urn'])}**" for r in d.added]
    out += [f"- removed `{r['type']}` **{_name(r['urn'])}**" for r in d.removed]
    for c in d.changed:
        shown = ", ".join(f"{_code(path)} {_code(a)} → {_code(b)}" for path, a, b in c.paths[:SHOWN_CHANGES])
        more = f" and {len(c.paths) - SHOWN_CHANGES} more" if len(c.paths) > SHOWN_CHANGES else ""
        out.append(f"- changed `{c.type}` **{_name(c.urn)}**: {shown}{more}")
    if not (d.added or d.removed or d.changed):
        out.append("- no resource changes")
    out += ["", "</details>"]
    return "\n".join(out)


def to_text(d: Diff) -> str:
    before, after = d.base.total(), d.head.total()
    lines = [
        f"Change to stack {d.stack}: {len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed",
        "Cost $/h: "
        + "; ".join(f"{p} {money(before[p])} -> {money(after[p])} ({_signed(after[p] - before[p])})" for p in POINTS),
        "GPUs: " + "; ".join(f"{p} {gpu_text(d.base.gpus()[p])} -> {gpu_text(d.head.gpus()[p])}" for p in POINTS),
    ]
    lines += [f"+ {r['type']} {_name(r['urn'])}" for r in d.added]
    lines += [f"- {r['type']} {_name(r['urn'])}" for r in d.removed]
    for c in d.changed:
        lines.append(f"~ {c.type} {_name(c.urn)}")
        lines += [f"    {path}: {_shown(a)} -> {_shown(b)}" for path, a, b in c.paths]
    return "\n".join(lines)


def to_json(d: Diff) -> dict[str, Any]:
    before, after = d.base.total(), d.head.total()
    return {
        "stack": d.stack,
        "added": [{"urn": r["urn"], "type": r["type"]} for r in d.added],
        "removed": [{"urn": r["urn"], "type": r["type"]} for r in d.removed],
        "changed": [
            {"urn": c.urn, "type": c.type, "inputs": [{"path": p, "before": a, "after": b} for p, a, b in c.paths]}
            for c in d.changed
        ],
        "usdPerHour": {p: {"before": round(before[p], 4), "after": round(after[p], 4)} for p in POINTS},
        "gpus": {p: {"before": d.base.gpus()[p], "after": d.head.gpus()[p]} for p in POINTS},
    }


def run(base: Path, head: Path, fmt: str = "markdown", out: TextIO | None = None) -> int:
    """The `diff` subcommand: 0 when it could compare, 2 when an input is not usable."""
    out = out or sys.stdout
    try:
        d = diff_of(load_deployment(base), load_deployment(head))
    except ReviewError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rendered = {"markdown": to_markdown, "text": to_text}.get(fmt)
    print(rendered(d) if rendered else json.dumps(to_json(d), indent=2), file=out)
    return 0
