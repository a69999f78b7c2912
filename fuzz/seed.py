#!/usr/bin/env python3
"""Writes seed inputs for every fuzz target into a directory (default:
fuzz/seeds/, not committed): the AWS requests recorded in tests/corpus/aws/cases,
the shipped rule files, and hand-written edge cases. Long runs start from these
plus the committed corpus; `cargo fuzz cmin` then keeps what adds coverage.
"""

import base64
import hashlib
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
ZEROS = "0" * 64


def http1(method, target, headers, body=b""):
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    return head.encode() + b"\r\n" + body


def cases():
    for path in sorted((ROOT / "tests/corpus/aws/cases").glob("*.json")):
        case = json.loads(path.read_text())
        request = case["request"]
        url = urlsplit(request["url"])
        body = request.get("body") or ""
        body = base64.b64decode(body) if request.get("body_base64") else body.encode()
        target = url.path + (f"?{url.query}" if url.query else "")
        yield case, url, http1(request["method"], target or "/", request["headers"], body)


def chunked(sizes, trailer):
    out = b""
    for size in sizes:
        out += f"{size:x};chunk-signature={ZEROS}\r\n".encode() + b"a" * size
        if size or not trailer:
            out += b"\r\n"
    if trailer:
        out += f"x-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:{ZEROS}\r\n\r\n".encode()
    return out


def seeds():
    for case, url, request in cases():
        yield "aws_facet", request
        yield "sigv4", bytes([1 if case["expect"].get("service") == "s3" else 0]) + request
        yield "uri_template", f"{case['expect'].get('service', '')}\n{url.path}".encode()
        yield "connect", f"CONNECT {url.hostname}:443 HTTP/1.1\r\nHost: {url.hostname}:443\r\n\r\n".encode()
    for line in [
        "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n",
        "CONNECT S3.Amazonaws.COM.:443 HTTP/1.1\r\n\r\n",
        "CONNECT user@host:443 HTTP/1.1\r\n\r\n",
        "GET http://example.com/path HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET http://example.com:8080/ HTTP/1.1\r\nHost: example.com:8080\r\nHost: other\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: sts.amazonaws.com\r\n\r\n",
    ]:
        yield "connect", line.encode()
    for trailer in (0, 1):
        for sizes in ([16, 5, 0], [0], [1, 0], [64, 63, 0]):
            yield "chunks", bytes([trailer, len(sizes) * 7]) + chunked(sizes, trailer)
    for path in sorted(ROOT.glob("policies/**/*.hcl")):
        if not path.name.endswith(".test.hcl"):
            yield "rules", path.read_bytes()
    yield "rules", b"".join(
        p.read_bytes() for p in sorted((ROOT / "policies").glob("*.hcl")) if not p.name.endswith(".test.hcl")
    )


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fuzz/seeds"
    for target, data in seeds():
        directory = out / target
        directory.mkdir(parents=True, exist_ok=True)
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


if __name__ == "__main__":
    main()
