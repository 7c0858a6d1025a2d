"""Fixtures shared by the tests, and the one name the policy pack has in the tests' process."""

# One name for the pack in this process, as in the pack's own: the offline engine's `gpu_platform.policies.*`
# are the very modules the tests import as `policies.*` (so a mutation tool's rewritten modules are the ones
# both use). Done before anything imports the engine.
import importlib
import pkgutil
import sys

import gpu_platform

import policies

sys.modules.setdefault("gpu_platform.policies", policies)
gpu_platform.policies = policies
for _module in pkgutil.iter_modules(policies.__path__):
    if _module.name != "__main__":
        sys.modules.setdefault(
            f"gpu_platform.policies.{_module.name}", importlib.import_module(f"policies.{_module.name}")
        )

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.planning import Plan


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return Plan.of_stack("dev")


@pytest.fixture(scope="session")
def prod_plan() -> Plan:
    return Plan.of_stack("prod")


# --- `make mutation` (tools/mutation.py) ------------------------------------------------------------------
# mutmut learns which tests cover a function from the calls made while each test runs, and then runs only
# those tests against that function's mutants. A session or module fixture (a plan) is built during the
# first test that asks for it, so without this every later test that reads the plan would be credited with
# nothing, and never run against the mutants it would catch. Only while mutmut collects its stats.
# A plugin, not conftest hooks: pytest calls a session fixture's setup hook on the session, which this folder's
# conftest does not reach. It looks at the variable when called (pytest may keep this module between runs).


def _mutmut_stats() -> set[str] | None:
    """mutmut's record of the functions called during the current test, while it collects its stats."""
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return None
    from mutmut.state import state

    return state()._stats


class SharedFixtureCredit:
    """Credits the functions a shared fixture called while it was built to every test that uses it."""

    def __init__(self) -> None:
        self.hits: dict[int, set[str]] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Iterator[None]:
        stats = _mutmut_stats()
        if stats is None or fixturedef.scope == "function":
            yield
            return
        before = set(stats)
        stats.clear()
        yield
        self.hits[id(fixturedef)] = set(stats)
        stats.update(before)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: Any) -> Iterator[None]:
        stats = _mutmut_stats()
        if stats is not None:
            for definitions in item._fixtureinfo.name2fixturedefs.values():
                for definition in definitions:
                    stats.update(self.hits.get(id(definition), ()))
        yield
        if stats is not None:  # and those the test asked for by name (request.getfixturevalue)
            for definition in item._request._fixture_defs.values():
                stats.update(self.hits.get(id(definition), ()))


def _shares_a_built_fixture(item: pytest.Item) -> bool:
    """Whether the test reads a fixture of this suite that lives longer than one test (a plan)."""
    return any(
        definition.scope != "function" and definition.baseid.startswith("tests")
        for definitions in item._fixtureinfo.name2fixturedefs.values()
        for definition in definitions
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Against one mutant, mutmut runs the tests that cover it, quickest first by each test's own time, until one
    fails; but one build of a shared plan serves every test that reads it. So: tests that build nothing (under a
    second), then those that read a shared plan, then those that build their own. Only while mutmut runs a
    mutant (and in tools/mutation.py's baseline run of the unmutated code, in the same order)."""
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        return
    from mutmut.state import state

    seconds = state().duration_by_test

    def cost(item: pytest.Item) -> tuple[int, float]:
        took = seconds.get(item.nodeid, float("inf"))
        shared = _shares_a_built_fixture(item)
        return (1 if shared else 0 if took < 1 else 2), took

    items.sort(key=cost)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("MUTANT_UNDER_TEST"):  # under mutmut: the same examples for every mutant, none replayed
        from hypothesis import settings

        settings.register_profile("mutmut", derandomize=True, database=None)
        settings.load_profile("mutmut")
    if not config.pluginmanager.has_plugin("shared-fixture-credit"):
        config.pluginmanager.register(SharedFixtureCredit(), "shared-fixture-credit")
