"""What the facade returns: typed, plain data a service can show or serialize.

Findings are `offline.review.Finding`, the type the offline review reports, so a
finding reads the same whether it came from `plan()` or from the engine's
policy events during `preview()`/`up()`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gpu_platform.automation.leftovers import LeftoverReport
from gpu_platform.offline.review import Finding
from pulumi.automation import EngineEvent, PolicyEvent

__all__ = [
    "ChangeSummary",
    "EventCollector",
    "Finding",
    "PlanResult",
    "PreviewResult",
    "UpdateResult",
    "finding_from_event",
]

OnEvent = Callable[[EngineEvent], Any]
OnOutput = Callable[[str], Any]

# The engine colours policy messages with `<{%reset%}>`-style directives (colors "raw").
_COLOR_DIRECTIVE = re.compile(r"<\{%[^%]*%\}>")


@dataclass(frozen=True)
class ChangeSummary:
    """Resource operations by kind, as the engine counts them (`create`, `update`, `delete`, `same`, ...)."""

    counts: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, op_map: Mapping[Any, int] | None) -> ChangeSummary:
        return cls(
            {
                getattr(k, "value", str(k)): int(v)
                for k, v in sorted((op_map or {}).items(), key=lambda kv: getattr(kv[0], "value", str(kv[0])))
            }
        )

    def __getitem__(self, op: str) -> int:
        return self.counts.get(op, 0)

    @property
    def changed(self) -> int:
        """Resources created, updated, replaced or deleted."""
        return sum(n for op, n in self.counts.items() if op != "same")


def _blocking(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
    return tuple(f for f in findings if f.enforcement_level == "mandatory")


@dataclass(frozen=True)
class PlanResult:
    """An offline plan of a stack and its policy review; no CLI, no cloud."""

    stack: str
    document: dict[str, Any]  # a `pulumi stack export` deployment (version 3)
    summary: str  # the component tree with resource counts, then the outputs
    outputs: dict[str, Any]  # plaintext values, as in UpdateResult; keys in `secret_outputs` are secrets
    secret_outputs: frozenset[str]
    findings: tuple[Finding, ...]
    policy_config: str  # the policy config file used, "" for the pack's defaults
    duration_seconds: float
    # `python -m offline cost --format json` of the plan: $/hour, $/month and GPUs at floor, expected and
    # ceiling, per resource, component, pool and stack; None where a region has no prices (`cost_error` says)
    cost: dict[str, Any] | None = None
    cost_error: str = ""

    @property
    def budget_findings(self) -> tuple[Finding, ...]:
        """The gpu-budget rule's findings: GPUs or $/hour at maxSize over the stack's budget."""
        return tuple(f for f in self.findings if f.policy == "gpu-budget")

    @property
    def resources(self) -> int:
        return len(self.document["deployment"]["resources"])

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """Mandatory findings: `preview`/`up` would stop on these."""
        return _blocking(self.findings)

    @property
    def passed(self) -> bool:
        return not self.blocking


@dataclass(frozen=True)
class PreviewResult:
    stack: str
    changes: ChangeSummary
    findings: tuple[Finding, ...]  # advisory ones (a mandatory one raises PolicyViolationError)
    duration_seconds: float
    stdout: str


@dataclass(frozen=True)
class UpdateResult:
    """The result of `up`, `refresh` or `destroy`."""

    stack: str
    operation: str  # up, refresh, destroy
    result: str  # as the stack history says: succeeded, failed, ...
    version: int | None  # the update's number in the stack history
    changes: ChangeSummary
    outputs: dict[str, Any]  # plaintext values; keys in `secret_outputs` are secrets
    secret_outputs: frozenset[str]
    findings: tuple[Finding, ...]
    duration_seconds: float
    stdout: str
    # destroy only: what the cluster's controllers made in AWS, before and after (automation/leftovers.py)
    leftovers: LeftoverReport | None = None


def finding_from_event(event: PolicyEvent) -> Finding:
    """A Finding from the engine's policy event.

    The engine sends `<description>\\n<message>` wrapped in colour directives; the
    description is the rule's one line, the rest is what the rule reported.
    """
    text = _COLOR_DIRECTIVE.sub("", event.message).strip("\n")
    description, _, message = text.partition("\n")
    if not message:
        description, message = "", description
    level = {"warning": "advisory"}.get(event.enforcement_level, event.enforcement_level)
    return Finding(
        policy=event.policy_name,
        enforcement_level=level,
        urn=event.resource_urn or "",
        message=message.strip(),
        description=description.strip(),
    )


class EventCollector:
    """An `on_event` callback: keeps findings and the summary, then passes each event on to the caller's.

    The SDK calls it from its event-stream thread, hence the lock.
    """

    def __init__(self, forward: OnEvent | None = None) -> None:
        self._forward = forward
        self._lock = threading.Lock()
        self._findings: list[Finding] = []
        self.summary_changes: ChangeSummary | None = None
        self.events = 0

    def __call__(self, event: EngineEvent) -> None:
        with self._lock:
            self.events += 1
            if event.policy_event is not None:
                self._findings.append(finding_from_event(event.policy_event))
            if event.summary_event is not None:
                self.summary_changes = ChangeSummary.of(event.summary_event.resource_changes)
        if self._forward is not None:
            self._forward(event)

    @property
    def findings(self) -> tuple[Finding, ...]:
        with self._lock:
            return tuple(
                sorted(self._findings, key=lambda f: (f.enforcement_level != "mandatory", f.policy, f.urn, f.message))
            )
