"""The policy pack: what `pulumi preview --policy-pack policies` starts. It only constructs the PolicyPack.

Constructing it starts the analyzer's gRPC server, prints its port and blocks;
tests import the rule modules, never this file. The folder is loaded as a
package named `policies` wherever it is published (its folder may have any name), the name the tests import
it by: one name in and out of this process, so a mutation tool's rewritten modules are the ones served.
"""

import importlib.util
import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

_here = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "policies", _here / "__init__.py", submodule_search_locations=[str(_here)]
)
_package = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _package
_spec.loader.exec_module(_package)
pack = importlib.import_module(f"{_spec.name}.pack")

PolicyPack(name=pack.NAME, policies=pack.POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
