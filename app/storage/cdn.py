"""CloudFront signed URLs: the one place that signs for ``AUDIO_DELIVERY=cdn``.

A canned policy (one URL, one expiry) signed with the environment's RSA 2048 key, SHA-256 with
``Hash-Algorithm=SHA256``, in CloudFront's URL-safe base64 (``+``, ``=``, ``/`` become ``-``, ``_``, ``~``), as
CloudFront's developer guide documents ("Create a signed URL using a canned policy"). The key's public half
is in the distribution's key group; ``key_id`` is that public key's id (the URL's ``Key-Pair-Id``).
"""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.variables import SettingsError

SIGNED_SECONDS = 300  # a listener's player asks again for a new link; old ones expire by themselves


class CdnKeyError(SettingsError):
    """CDN_PRIVATE_KEY is not an RSA private key in PEM."""


class CloudFrontSigner:
    def __init__(self, domain: str, key_id: str, private_key_pem: str) -> None:
        self.domain, self.key_id = domain, key_id
        try:
            key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        except ValueError:
            raise CdnKeyError("CDN_PRIVATE_KEY is not a PEM private key (-----BEGIN PRIVATE KEY-----...)") from None
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != 2048:
            raise CdnKeyError("CDN_PRIVATE_KEY must be an RSA 2048 key: CloudFront's key groups take RSA 2048 (or "
                              "ECDSA 256) public keys")
        self._key = key

    def url(self, key: str, expires_in: int = SIGNED_SECONDS, now: float | None = None) -> str:
        """The object at ``key`` through the distribution, readable until ``expires_in`` seconds from now."""
        resource = f"https://{self.domain}/{quote(key, safe='/')}"
        expires = int((time.time() if now is None else now) + expires_in)
        policy = canned_policy(resource, expires)
        signature = self._key.sign(policy, padding.PKCS1v15(), hashes.SHA256())
        return (f"{resource}?Expires={expires}&Signature={cloudfront_base64(signature)}"
                f"&Key-Pair-Id={self.key_id}&Hash-Algorithm=SHA256")


def canned_policy(resource: str, expires: int) -> bytes:
    """The policy CloudFront rebuilds from a canned URL to check it: no whitespace, exactly this shape."""
    statement = {"Statement": [{"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}]}
    return json.dumps(statement, separators=(",", ":")).encode()


def cloudfront_base64(data: bytes) -> str:
    return base64.b64encode(data).decode().translate(str.maketrans("+=/", "-_~"))
