"""A lean S3 stand-in for transfer benchmarks: the few calls copy tools make, at a fraction of moto's CPU.

Why: on this 2-core machine moto spends about 6 CPU-s per GiB it receives (Flask dispatch under one
lock, MD5 in the request thread, spooled copies), so every tool measured against it ran at moto's speed.
This server keeps connections alive, hashes on worker threads (hashlib lets go of the GIL) and holds
objects in memory. It answers what `aws s3 sync`, s5cmd, rclone and `ephitup migrate` send: create
bucket, PUT object (``Expect: 100-continue``, chunked ``aws-chunked`` bodies with trailing checksums;
``Content-MD5``, ``x-amz-checksum-sha256`` and ``-crc32`` verified, ``If-None-Match: *`` honoured,
the stored SHA-256 returned as S3 does), HEAD, GET (one range at most), ListObjects v1 and v2,
DeleteObjects, DELETE, multipart uploads (with S3's composite checksum).
No signature is checked (moto checks none either). Not a test double: tests use moto.

Run: ``python -m benchmarks.s3_sink PORT [CERTIFICATE KEY]`` (with both: https).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import ssl
import sys
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

PAGE = 1000
WRITE_SLICE = 1 << 20  # a GET body is written a slice at a time: 16 parallel 64 MiB answers once cost 2 GiB of copies


@dataclass
class Stored:
    body: bytes
    md5: str
    sha256: str | None
    headers: dict[str, str] = field(default_factory=dict)  # content-type, x-amz-meta-*
    at: float = field(default_factory=time.time)

    @property
    def modified(self) -> str:
        return formatdate(self.at, usegmt=True)

    @property
    def iso_modified(self) -> str:  # what a listing says: sync tools compare it with the file's mtime
        return datetime.fromtimestamp(self.at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


Buckets = dict[str, dict[str, Stored]]


def _xml(root: str, inner: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"{inner}</{root}>").encode()


def _listing(bucket: str, objects: dict[str, Stored], query: dict[str, str]) -> bytes:
    prefix = query.get("prefix", "")
    v2 = query.get("list-type") == "2"
    after = query.get("continuation-token" if v2 else "marker", query.get("start-after", ""))
    limit = min(int(query.get("max-keys", PAGE)), PAGE)
    delimiter = query.get("delimiter", "")
    entries = sorted({_grouped(key, prefix, delimiter) for key in objects if key.startswith(prefix)})
    entries = [entry for entry in entries if entry > after]
    page, truncated = entries[:limit], len(entries) > limit
    groups = "".join(f"<CommonPrefixes><Prefix>{escape(entry)}</Prefix></CommonPrefixes>"
                     for entry in page if entry not in objects)
    contents = groups + "".join(
        f"<Contents><Key>{escape(key)}</Key><LastModified>{objects[key].iso_modified}</LastModified>"
        f'<ETag>"{objects[key].md5}"</ETag><Size>{len(objects[key].body)}</Size>'
        "<StorageClass>STANDARD</StorageClass></Contents>" for key in page if key in objects)
    more = ""
    if truncated:
        more = (f"<NextContinuationToken>{escape(page[-1])}</NextContinuationToken>" if v2
                else f"<NextMarker>{escape(page[-1])}</NextMarker>")
    count = f"<KeyCount>{len(page)}</KeyCount>" if v2 else ""
    return _xml("ListBucketResult", f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix>{count}"
                f"<MaxKeys>{limit}</MaxKeys><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
                f"{more}{contents}")


def _grouped(key: str, prefix: str, delimiter: str) -> str:
    """The key itself, or with a delimiter the common prefix it falls under (one "folder" level)."""
    if delimiter and delimiter in key[len(prefix):]:
        return key[:key.index(delimiter, len(prefix)) + len(delimiter)]
    return key


class Sink:
    def __init__(self) -> None:
        self.buckets: Buckets = {}
        self.uploads: dict[str, tuple[dict[str, str], dict[int, Stored]]] = {}  # id: (headers, parts)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = {name.lower(): value.strip() for name, _, value in
                           (line.partition(":") for line in lines if line)}
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                if headers.get("transfer-encoding", "").lower() == "chunked":
                    body = await _read_chunked(reader, headers)
                else:
                    body = await reader.readexactly(int(headers.get("content-length", 0)))
                if "aws-chunked" in headers.get("content-encoding", ""):  # botocore's, over https: checksum last
                    body = await _read_chunked(_stream_of(body), headers)  # S3's framing is HTTP's, nested
                status, reply_headers, reply = await self.answer(method, target, headers, body)
                length = reply_headers.pop("content-length", str(len(reply)))  # a HEAD's: the object's
                if method == "HEAD":
                    reply = b""
                else:
                    length = str(len(reply))
                lines_out = [f"HTTP/1.1 {status}", f"Content-Length: {length}", "Server: s3-sink",
                             *(f"{name}: {value}" for name, value in reply_headers.items())]
                writer.write(("\r\n".join(lines_out) + "\r\n\r\n").encode("latin-1"))
                for start in range(0, len(reply), WRITE_SLICE):  # as the client takes it: no copy of the body
                    writer.write(memoryview(reply)[start:start + WRITE_SLICE])
                    await writer.drain()
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def answer(self, method: str, target: str, headers: dict[str, str], body: bytes
                     ) -> tuple[str, dict[str, str], bytes]:
        url = urlsplit(target)
        query = {name: values[0] for name, values in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path.startswith("/moto-api"):
            return "200 OK", {}, b"s3 sink"
        bucket, _, key = unquote(url.path).lstrip("/").partition("/")
        if not key:
            return self.bucket_call(method, bucket, query, body)
        objects = self.buckets.get(bucket)
        if objects is None:
            return _error("404 Not Found", "NoSuchBucket")
        if "uploads" in query or "uploadId" in query:
            return await self.multipart(method, bucket, objects, key, query, headers, body)
        if method == "PUT" and headers.get("if-none-match") == "*" and key in objects:  # a create-only PUT
            return _error("412 Precondition Failed", "PreconditionFailed")
        if method == "PUT":
            return await self.put(objects, key, headers, body)
        if method == "DELETE":
            objects.pop(key, None)
            return "204 No Content", {}, b""
        stored = objects.get(key)
        if stored is None:
            return _error("404 Not Found", "NoSuchKey")
        found = {"etag": f'"{stored.md5}"', "last-modified": stored.modified, **stored.headers,
                 "content-length": str(len(stored.body))}
        if stored.sha256 and headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
            found["x-amz-checksum-sha256"] = stored.sha256
        ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", headers.get("range", ""))
        if ranged and method == "GET":
            start = int(ranged[1])
            end = min(int(ranged[2]) if ranged[2] else len(stored.body) - 1, len(stored.body) - 1)
            found["content-range"] = f"bytes {start}-{end}/{len(stored.body)}"
            del found["content-length"]
            found.pop("x-amz-checksum-sha256", None)  # S3 reports no whole-object checksum for a range
            return "206 Partial Content", found, stored.body[start:end + 1]
        return "200 OK", found, stored.body

    def bucket_call(self, method: str, bucket: str, query: dict[str, str], body: bytes
                    ) -> tuple[str, dict[str, str], bytes]:
        if method == "PUT":
            self.buckets.setdefault(bucket, {})
            return "200 OK", {"location": f"/{bucket}"}, b""
        objects = self.buckets.get(bucket)
        if objects is None:
            return _error("404 Not Found", "NoSuchBucket")
        if method == "HEAD":
            return "200 OK", {}, b""
        if method == "POST" and "delete" in query:
            keys = [unquote(key) for key in re.findall(r"<Key>(.*?)</Key>", body.decode())]
            for key in keys:
                objects.pop(key, None)
            return "200 OK", {}, _xml("DeleteResult", "".join(f"<Deleted><Key>{escape(k)}</Key></Deleted>"
                                                              for k in keys))
        if method == "GET" and "location" in query:
            return "200 OK", {}, _xml("LocationConstraint", "")
        if method == "GET":
            return "200 OK", {"content-type": "application/xml"}, _listing(bucket, objects, query)
        return _error("501 Not Implemented", "NotImplemented")

    async def put(self, objects: dict[str, Stored], key: str, headers: dict[str, str], body: bytes
                  ) -> tuple[str, dict[str, str], bytes]:
        wants_sha256 = "x-amz-checksum-sha256" in headers
        md5, sha256 = await asyncio.to_thread(_digests, body, wants_sha256)
        if "content-md5" in headers and base64.b64encode(bytes.fromhex(md5)).decode() != headers["content-md5"]:
            return _error("400 Bad Request", "BadDigest")
        if wants_sha256 and sha256 != headers["x-amz-checksum-sha256"]:
            return _error("400 Bad Request", "BadDigest")
        crc32 = headers.get("x-amz-checksum-crc32")  # what botocore sends by default when it picks the checksum
        if crc32 and await asyncio.to_thread(_crc32, body) != crc32:
            return _error("400 Bad Request", "BadDigest")
        kept = {name: value for name, value in headers.items()
                if name.startswith("x-amz-meta-") or name == "content-type"}
        objects[key] = Stored(body, md5, sha256, kept)
        reply = {"etag": f'"{md5}"'}
        if sha256:
            reply["x-amz-checksum-sha256"] = sha256
        if crc32:
            reply["x-amz-checksum-crc32"] = crc32
        return "200 OK", reply, b""


    async def multipart(self, method: str, bucket: str, objects: dict[str, Stored], key: str, query: dict[str, str],
                        headers: dict[str, str], body: bytes) -> tuple[str, dict[str, str], bytes]:
        """Create, upload part, complete (checksums composite, as S3 reports them), abort."""
        if method == "POST" and "uploads" in query:
            upload_id = f"upload-{len(self.uploads) + 1}"
            self.uploads[upload_id] = ({n: v for n, v in headers.items()
                                        if n.startswith("x-amz-meta-") or n == "content-type"}, {})
            return "200 OK", {}, _xml("InitiateMultipartUploadResult", f"<Bucket>{escape(bucket)}</Bucket>"
                                      f"<Key>{escape(key)}</Key><UploadId>{upload_id}</UploadId>")
        kept, parts = self.uploads.get(query["uploadId"], ({}, {}))
        if method == "PUT":
            wants_sha256 = "x-amz-checksum-sha256" in headers
            md5, sha256 = await asyncio.to_thread(_digests, body, wants_sha256)
            if wants_sha256 and sha256 != headers["x-amz-checksum-sha256"]:
                return _error("400 Bad Request", "BadDigest")
            parts[int(query["partNumber"])] = Stored(body, md5, sha256)
            return "200 OK", {"etag": f'"{md5}"', **({"x-amz-checksum-sha256": sha256} if sha256 else {})}, b""
        if method == "DELETE":
            self.uploads.pop(query["uploadId"], None)
            return "204 No Content", {}, b""
        ordered = [parts[number] for number in sorted(parts)]
        md5 = hashlib.md5(b"".join(bytes.fromhex(part.md5) for part in ordered), usedforsecurity=False).hexdigest()
        sha256 = None
        if ordered and all(part.sha256 for part in ordered):
            composite = hashlib.sha256(b"".join(base64.b64decode(part.sha256 or "") for part in ordered)).digest()
            sha256 = f"{base64.b64encode(composite).decode()}-{len(ordered)}"
        objects[key] = Stored(b"".join(part.body for part in ordered), f"{md5}-{len(ordered)}", sha256, kept)
        del self.uploads[query["uploadId"]]
        checksum = f"<ChecksumSHA256>{sha256}</ChecksumSHA256>" if sha256 else ""
        return "200 OK", {}, _xml("CompleteMultipartUploadResult", f"<Bucket>{escape(bucket)}</Bucket>"
                                  f'<Key>{escape(key)}</Key><ETag>"{md5}-{len(ordered)}"</ETag>{checksum}')


async def _read_chunked(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """A chunked body (HTTP's, or the ``aws-chunked`` payload inside it: chunk signatures not checked); its
    trailers (a trailing checksum) join the headers, as S3 takes them."""
    chunks = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        _add_header(headers, line)
    return b"".join(chunks)


def _stream_of(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=1 << 20)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def _add_header(headers: dict[str, str], line: bytes) -> None:
    name, _, value = line.decode("latin-1").partition(":")
    headers[name.strip().lower()] = value.strip()


def _crc32(body: bytes) -> str:
    return base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()


def _digests(body: bytes, sha256: bool) -> tuple[str, str | None]:
    md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
    return md5, base64.b64encode(hashlib.sha256(body).digest()).decode() if sha256 else None


def _error(status: str, code: str) -> tuple[str, dict[str, str], bytes]:
    return status, {"content-type": "application/xml"}, f"<Error><Code>{code}</Code></Error>".encode()


async def main(port: int, certificate: str | None, key: str | None) -> None:
    sink = Sink()
    tls = None
    if certificate:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(certificate, key)
    server = await asyncio.start_server(sink.handle, "127.0.0.1", port, backlog=1024, limit=1 << 20, ssl=tls)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), *(sys.argv[2:4] or [None, None])))
