"""STS's check of a role's trust policy for ``AssumeRoleWithWebIdentity``, which moto skips: the instrument fixed.

moto assumes any role for any token. ``trust_checked()`` makes it judge as STS documents: the token's claims
(its payload, unsigned here) against the role's trust policy: an Allow for ``sts:AssumeRoleWithWebIdentity``
by the federated principal of the token's issuer, every condition holding (``StringEquals`` on
``<issuer>:<claim>``: the claim equals one of the values); otherwise ``AccessDenied``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.responses import TokenResponse

from tests.support.aws import ACCOUNT


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def token_for(claims: dict[str, Any]) -> str:
    """A JWT shaped as the issuer's (header, payload, signature), unsigned: moto does not check signatures."""
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def trusts(policy: dict[str, Any], claims: dict[str, Any]) -> bool:
    issuer = str(claims["iss"]).removeprefix("https://")
    for statement in policy["Statement"]:
        federated = (statement.get("Principal") or {}).get("Federated", "")
        if (statement["Effect"] != "Allow" or statement["Action"] != "sts:AssumeRoleWithWebIdentity"
                or not federated.endswith(f":oidc-provider/{issuer}")):
            continue
        conditions = statement.get("Condition", {})
        if set(conditions) - {"StringEquals"}:
            raise NotImplementedError(f"a condition this check does not know: {sorted(conditions)}")
        if all(claims.get(key.removeprefix(f"{issuer}:")) in ([value] if isinstance(value, str) else value)
               for key, value in conditions.get("StringEquals", {}).items()):
            return True
    return False


@contextmanager
def trust_checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    original = TokenResponse.assume_role_with_web_identity

    def checked(self: Any) -> Any:
        role = iam_backends[ACCOUNT]["aws"].get_role_by_arn(self._get_param("RoleArn"))
        if not trusts(json.loads(role.assume_role_policy_document), claims_of(self._get_param("WebIdentityToken"))):
            raise STSClientError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        return original(self)

    monkeypatch.setattr(TokenResponse, "assume_role_with_web_identity", checked)
    yield
