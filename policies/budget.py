"""GPU budgets: how many GPUs (in all, and per model) and how many dollars an hour a stack may reach at its
ceiling, every node group at maxSize. Priced as `python -m offline cost` prices (cost.py, prices.json)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, StackValidationPolicy

from .cost import Line, price_stack
from .shapes import setting

BUDGET_SCHEMA = {
    "maxGpus": {
        "type": ["integer", "null"],
        "minimum": 0,
        "default": None,
        "description": "The most GPUs the stack's node groups may hold at maxSize, every model together.",
    },
    "maxGpusPerModel": {
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 0},
        "default": {},
        "description": "The most GPUs of one model at maxSize, by model as the price table names it ('H100 80GB').",
    },
    "maxCeilingUsdPerHour": {
        "type": ["number", "null"],
        "minimum": 0,
        "default": None,
        "description": "The most the stack may cost an hour with every node group at maxSize (list prices).",
    },
}


def _biggest_first(found: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """Who pushes the stack over: the biggest first, equals by name."""
    return sorted(found, key=lambda item: (-item[1], item[0]))


def _by_pool(lines: list[Line], model: str | None = None) -> list[tuple[str, float]]:
    """(pool, or resource where there is no pool; GPUs at maxSize) of the lines that have GPUs."""
    found = [
        (line.pool or line.name, sum(n for m, n in line.gpus["ceiling"].items() if model in (None, m)))
        for line in lines
    ]
    return _biggest_first((name, n) for name, n in found if n)


def _shown(pools: list[tuple[str, Any]], unit: str = "") -> str:
    return ", ".join(f"{name} {unit}{value}" for name, value in pools)


def _gpu_budget(args: Any, report_violation: Any) -> None:
    lines = price_stack(list(args.resources))
    most = setting(args, BUDGET_SCHEMA, "maxGpus")
    most = None if most is None else int(most)  # numbers reach the pack as floats (protobuf Struct)
    total = sum(n for line in lines for n in line.gpus["ceiling"].values())
    if most is not None and total > most:
        report_violation(
            f"GPUs at maxSize: {total} ({_shown(_by_pool(lines))}), {total - most} over the budget of {most}: "
            "lower those pools' maxSize or raise gpu-budget.maxGpus"
        )
    for model, limit in sorted(dict(setting(args, BUDGET_SCHEMA, "maxGpusPerModel")).items()):
        limit = int(limit)
        count = sum(line.gpus["ceiling"].get(model, 0) for line in lines)
        if count > limit:
            report_violation(
                f"{model} GPUs at maxSize: {count} ({_shown(_by_pool(lines, model))}), {count - limit} over the "
                f"budget of {limit}: lower those pools' maxSize or raise gpu-budget.maxGpusPerModel"
            )
    ceiling = setting(args, BUDGET_SCHEMA, "maxCeilingUsdPerHour")
    if ceiling is None:
        return
    later = next((line.unknown for line in lines if line.unknown is not None), None)
    if later is not None:  # a first preview: judged once they exist (the engine reports it as not run)
        raise later
    unknown = sorted({f"{u} ({line.name})" for line in lines for u in line.unpriced})
    if unknown:
        report_violation(
            f"the ceiling cannot be priced whole: {'; '.join(unknown)} (policies/prices.json); add the prices "
            "with their sources, or drop gpu-budget.maxCeilingUsdPerHour"
        )
    usd = sum(line.usd_per_hour["ceiling"] for line in lines)
    if usd > ceiling:
        dearest = _biggest_first(
            (line.pool or line.name, line.usd_per_hour["ceiling"])
            for line in lines
            if line.usd_per_hour["ceiling"] >= 1
        )
        report_violation(
            f"ceiling ${usd:,.2f}/h ({', '.join(f'{name} ${value:,.2f}' for name, value in dearest)}), "
            f"${usd - ceiling:,.2f} over the budget of ${ceiling:,.2f}/h: lower maxSize or raise "
            "gpu-budget.maxCeilingUsdPerHour"
        )


gpu_budget = StackValidationPolicy(
    name="gpu-budget",
    description=(
        "At maxSize the stack stays within its GPU budget (GPUs in all, per model, and $/hour at list prices): "
        "lower the pools' maxSize or raise the budget in the stack's policy config."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties=BUDGET_SCHEMA),
    validate=_gpu_budget,
)
