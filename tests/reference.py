"""Facts read from the team's checked reference (../shared/reference/gpu-facts.md), not from the program.

Tests compare the program's catalog and validation with these tables, so a wrong
fact in `components/catalog.py` shows up as a disagreement with the reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

GPU_FACTS = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "gpu-facts.md"
SIZES = ("xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge")


@dataclass(frozen=True)
class ReferenceInstance:
    instance_type: str
    gpus: int
    model: str       # e.g. "A100 80GB", as the MIG table names GPUs
    mig: bool


@dataclass(frozen=True)
class ReferenceProfile:
    gpu: str
    profile: str
    compute: int
    memory: int
    max_per_gpu: int


def _rows(heading: str) -> list[list[str]]:
    text = GPU_FACTS.read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("|")]
    return rows[2:]  # past the header and its rule


def instances() -> list[ReferenceInstance]:
    found = []
    for name, gpus, model, memory, mig in _rows("## AWS instance types and their GPUs"):
        family_sizes = re.fullmatch(r"(\w+)\.\{xlarge\.\.16xlarge\}", name)
        names = ([f"{family_sizes.group(1)}.{s}" for s in SIZES] if family_sizes
                 else [n.strip() for n in name.split(",")])
        label = f"{model} {memory.replace(' ', '')}" if model in ("A100", "H100", "H200") else model
        found += [ReferenceInstance(n, int(gpus), label, mig == "yes") for n in names]
    return found


def mig_profiles() -> list[ReferenceProfile]:
    found = []
    for gpus, profile, compute, memory, most in _rows("## MIG profiles"):
        for gpu in gpus.split(","):
            found.append(ReferenceProfile(gpu.strip(), profile, int(compute), int(memory), int(most)))
    return found
