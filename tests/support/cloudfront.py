"""A stand-in for a CloudFront distribution on 127.0.0.1, over TLS, that checks signed URLs as CloudFront's
developer guide documents, and serves the objects from the S3 emulator.

``verify`` is the independent check, with the key group's public key alone: the canned policy rebuilt
from the URL without its signing parameters (``Expires``, ``Signature``, ``Key-Pair-Id``, ``Hash-Algorithm``),
the signature (CloudFront's URL-safe base64) verified with RSA PKCS#1 v1.5 over SHA-1, or SHA-256 when
``Hash-Algorithm=SHA256``, the key id one the key group trusts, and ``Expires`` still ahead. The serving side
reads with its own credentials (Origin Access Control signs CloudFront's requests to the bucket) and
passes ``Range`` on, answering 206 as CloudFront does.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from benchmarks._harness import LocalTls

SIGNING = ("Expires", "Signature", "Key-Pair-Id", "Hash-Algorithm")


def verify(url: str, public_key_pem: bytes, key_id: str, now: float | None = None) -> bool:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    signing = dict(item for item in query if item[0] in SIGNING)
    kept = [item for item in query if item[0] not in SIGNING]
    if not {"Expires", "Signature", "Key-Pair-Id"} <= signing.keys() or signing["Key-Pair-Id"] != key_id:
        return False
    resource = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{urlencode(kept)}" if kept else "")
    try:
        expires = int(signing["Expires"])
        signature = base64.b64decode(signing["Signature"].translate(str.maketrans("-_~", "+=/")), validate=True)
    except ValueError:
        return False
    condition = {"DateLessThan": {"AWS:EpochTime": expires}}
    policy = json.dumps({"Statement": [{"Resource": resource, "Condition": condition}]}, separators=(",", ":")).encode()
    digest = hashes.SHA256() if signing.get("Hash-Algorithm") == "SHA256" else hashes.SHA1()
    key: Any = serialization.load_pem_public_key(public_key_pem)
    try:
        key.verify(signature, policy, padding.PKCS1v15(), digest)
    except InvalidSignature:
        return False
    return (time.time() if now is None else now) < expires


class CloudFrontStandIn:
    """``with CloudFrontStandIn(public_key_pem, key_id, s3, bucket, folder) as cdn:`` serves ``cdn.domain``."""

    def __init__(self, public_key_pem: bytes, key_id: str, s3: Any, bucket: str, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.tls = LocalTls.create(folder)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                stand_in.answer(self, body=True)

            def do_HEAD(self) -> None:  # noqa: N802
                stand_in.answer(self, body=False)

            def log_message(self, *_: Any) -> None:
                pass

        self.public_key_pem, self.key_id, self.s3, self.bucket = public_key_pem, key_id, s3, bucket
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.tls.certificate, self.tls.key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.domain = f"127.0.0.1:{self.server.server_address[1]}"
        self.refused = 0

    def __enter__(self) -> CloudFrontStandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()

    def answer(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        if not verify(f"https://{self.domain}{handler.path}", self.public_key_pem, self.key_id):
            self.refused += 1
            handler.send_response(403)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        key = unquote(urlsplit(handler.path).path.lstrip("/"))
        asked = handler.headers.get("Range")
        reply = self.s3.get_object(Bucket=self.bucket, Key=key, **({"Range": asked} if asked else {}))
        handler.send_response(206 if asked else 200)
        for name, field in (("Content-Type", "ContentType"), ("Content-Length", "ContentLength"),
                            ("Content-Range", "ContentRange"), ("ETag", "ETag")):
            if reply.get(field) is not None:
                handler.send_header(name, str(reply[field]))
        handler.send_header("Accept-Ranges", "bytes")
        handler.end_headers()
        if body:
            handler.wfile.write(reply["Body"].read())
