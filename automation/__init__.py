"""Drive the platform from code: plan offline, preview and update through the Automation API.

    from gpu_platform.automation import PlatformStack, Backend, load_config, add_gpu_pool

    stack = PlatformStack.inline("dev", add_gpu_pool(load_config("dev"), {...}), backend=Backend.local(...))
    plan = stack.plan()          # offline: the plan and its policy findings, no CLI needed
    if plan.passed:
        result = stack.up(on_event=print)

Every error raised on purpose derives from PlatformAutomationError (see errors.py).
"""

from gpu_platform.automation.backend import Backend
from gpu_platform.automation.config import PLATFORM_KEY, PROJECT, add_gpu_pool, load_config, to_raw
from gpu_platform.automation.errors import (
    BackendError,
    ConcurrentUpdateError,
    InvalidConfigError,
    LeftoversBlockDestroyError,
    OperationFailedError,
    PlanError,
    PlatformAutomationError,
    PolicyPackNotReadyError,
    PolicyViolationError,
    PulumiCliNotFoundError,
    PulumiCliVersionError,
    StackNotFoundError,
)
from gpu_platform.automation.leftovers import Leftover, LeftoverReport
from gpu_platform.automation.results import (
    ChangeSummary,
    Finding,
    PlanResult,
    PreviewResult,
    UpdateResult,
)
from gpu_platform.automation.stack import PlatformStack

__all__ = [
    "PLATFORM_KEY",
    "PROJECT",
    "Backend",
    "BackendError",
    "ChangeSummary",
    "ConcurrentUpdateError",
    "Finding",
    "InvalidConfigError",
    "Leftover",
    "LeftoverReport",
    "LeftoversBlockDestroyError",
    "OperationFailedError",
    "PlanError",
    "PlanResult",
    "PlatformAutomationError",
    "PlatformStack",
    "PolicyPackNotReadyError",
    "PolicyViolationError",
    "PreviewResult",
    "PulumiCliNotFoundError",
    "PulumiCliVersionError",
    "StackNotFoundError",
    "UpdateResult",
    "add_gpu_pool",
    "load_config",
    "to_raw",
]
