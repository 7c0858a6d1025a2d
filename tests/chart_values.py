"""Whether the values the platform gives a chart are keys the chart has (its values.yaml, vendored upstream)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def _paths(values: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Key paths down to the leaves."""
    if not isinstance(values, dict):
        return [prefix]
    return [p for key, value in values.items() for p in _paths(value, (*prefix, key))]


def keys_the_chart_lacks(values: dict[str, Any], upstream: Path, open_maps: tuple[str, ...]) -> list[str]:
    """Each dotted key path of `values` the chart's values.yaml does not have; below a key in `open_maps` (maps
    the chart leaves to the user, such as nodeSelector) any key goes."""
    chart = yaml.safe_load(upstream.read_text())
    lacking = []
    for path in _paths(values):
        node = chart
        for key in path:
            if not (isinstance(node, dict) and key in node):
                lacking.append(".".join(path))
                break
            node = node[key]
            if key in open_maps:
                break
    return lacking
