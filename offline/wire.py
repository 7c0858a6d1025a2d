"""The engine's wire format: property values as the SDK sends them, as plain JSON.

Secrets and resource references are objects marked with Pulumi's signature key,
the same marks `pulumi stack export` writes.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2

SPECIAL_SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# What the engine sends for a value not known yet (a first preview).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Wire properties as plain JSON values; whole numbers come back as ints."""
    values: dict[str, Any] = _whole_numbers(json_format.MessageToDict(struct))
    return values


def to_struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _whole_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def resource_references(value: Any) -> list[str]:
    """URNs of every resource reference inside a wire value."""
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG) == RESOURCE_SIG:
            return [value["urn"]]
        return [urn for v in value.values() for urn in resource_references(v)]
    if isinstance(value, list):
        return [urn for v in value for urn in resource_references(v)]
    return []


def reveal(value: Any) -> Any:
    """A wire value with secrets unwrapped, for reading (not for recording)."""
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG) == SECRET_SIG:
            return reveal(value["value"])
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def reference(urn: str, id_: str) -> dict[str, Any]:
    """A resource reference, as an output that names another resource."""
    return {SPECIAL_SIG: RESOURCE_SIG, "urn": urn, "id": id_, "packageVersion": ""}


def secret(value: Any) -> dict[str, Any]:
    """A value in the wire's secret envelope."""
    return {SPECIAL_SIG: SECRET_SIG, "value": value}


def is_secret(value: Any) -> bool:
    """A value marked secret at its top."""
    return isinstance(value, dict) and value.get(SPECIAL_SIG) == SECRET_SIG
