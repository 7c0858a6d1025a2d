"""Gatekeeper's Rego, run by regorus (a Rego engine from PyPI): a template's module with its libraries, and
its violations for one review (input.review, input.parameters: Gatekeeper's input shape)."""

from __future__ import annotations

import json
from typing import Any

import regorus


class Template:
    """A ConstraintTemplate's Rego source (`{rego, libs, version}`), loaded once, judged many times."""

    def __init__(self, source: dict[str, Any]) -> None:
        assert source.get("version") == "v1", "the templates are Rego v1"
        self.engine = regorus.Engine()
        self.engine.set_rego_v0(False)
        self.engine.add_policy("template.rego", source["rego"])
        for i, lib in enumerate(source.get("libs", [])):
            self.engine.add_policy(f"lib_{i}.rego", lib)
        self.package = next(line.split()[1] for line in source["rego"].splitlines() if line.startswith("package "))

    def violations(self, review: dict[str, Any], parameters: dict[str, Any]) -> list[str]:
        """The messages of `violation`, sorted, as Gatekeeper would put them after `[<constraint>]`."""
        self.engine.set_input_json(json.dumps({"review": review, "parameters": parameters}))
        found = json.loads(self.engine.eval_rule_as_json(f"data.{self.package}.violation"))
        return sorted(v["msg"] for v in found)
