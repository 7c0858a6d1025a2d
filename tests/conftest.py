import pytest

from tests.planning import Plan


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return Plan.of_stack("dev")


@pytest.fixture(scope="session")
def prod_plan() -> Plan:
    return Plan.of_stack("prod")
