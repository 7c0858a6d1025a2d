"""IAM policy documents as data: built once here, rendered with `json.dumps`.

Tests read the exact document AWS receives, and no call site writes policy JSON.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import pulumi_aws as aws

Statement = dict[str, Any]


class Grantee(Protocol):
    """Something that holds an IAM role and a name to derive grant names from (e.g. an IrsaRole)."""

    name: str
    role: aws.iam.Role


def document(*statements: Statement) -> str:
    """An IAM policy document (version 2012-10-17) holding the given statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def allow(
    actions: list[str], resources: list[str], sid: str | None = None, conditions: dict[str, Any] | None = None
) -> Statement:
    statement: Statement = {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if sid:
        statement["Sid"] = sid
    if conditions:
        statement["Condition"] = conditions
    return statement


def service_trust(service: str, conditions: dict[str, Any] | None = None) -> str:
    """A trust policy that lets one AWS service assume the role, optionally pinned by conditions."""
    statement: Statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if conditions:
        statement["Condition"] = conditions
    return document(statement)
