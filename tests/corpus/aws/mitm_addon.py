"""mitmdump addon used by record.py: records every intercepted request exactly as
the client sent it and answers it with a canned response, never contacting a
server (run mitmdump with ``--set connection_strategy=lazy``).

Each request becomes one JSON line in the file named by $CORPUS_CAPTURE_FILE:
``{"seq", "method", "host", "path", "headers": [[name, value], ...], "body_b64"}``.
Headers are snapshotted in the ``requestheaders`` hook, i.e. before mitmproxy
answers and strips ``Expect: 100-continue``; names are lower-cased, order kept.
"""

import base64
import json
import os
import re
import threading

from mitmproxy import http

_LOCK = threading.Lock()
_SEQ = [0]

XML = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _q(path):
    return path.split("?", 1)[1] if "?" in path else ""


def _has(query, name):
    return re.search(r"(^|&)" + re.escape(name) + r"(=|&|$)", query) is not None


def _scope_service(headers):
    auth = headers.get("authorization", "")
    m = re.search(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request", auth)
    return m.group(1) if m else None


def _s3_response(method, host, path, headers, body):
    query = _q(path)
    p = path.split("?", 1)[0]
    # bucket-less path on an s3 host: ListBuckets
    virtual = re.match(r"^(.+)\.s3[.-]", host) is not None and not host.startswith("s3.")
    segs = [s for s in p.split("/") if s]
    has_key = (len(segs) >= 1) if virtual else (len(segs) >= 2)
    if method == "GET" and not virtual and not segs:
        return 200, {"Content-Type": "application/xml"}, XML + (
            b'<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<Owner><ID>abc</ID><DisplayName>me</DisplayName></Owner><Buckets>"
            b"<Bucket><Name>corpus-bucket</Name><CreationDate>2025-01-01T00:00:00.000Z</CreationDate></Bucket>"
            b"</Buckets></ListAllMyBucketsResult>"
        )
    if method == "POST" and _has(query, "uploads"):
        return 200, {"Content-Type": "application/xml"}, XML + (
            b'<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<Bucket>b</Bucket><Key>k</Key><UploadId>UPLOAD-ID-1</UploadId>"
            b"</InitiateMultipartUploadResult>"
        )
    if method == "POST" and _has(query, "uploadId"):
        return 200, {"Content-Type": "application/xml"}, XML + (
            b'<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<Location>x</Location><Bucket>b</Bucket><Key>k</Key><ETag>\"etag-1\"</ETag>"
            b"</CompleteMultipartUploadResult>"
        )
    if method == "PUT" and _has(query, "partNumber") and "x-amz-copy-source" in headers:
        return 200, {"Content-Type": "application/xml"}, XML + (
            b"<CopyPartResult><LastModified>2025-01-01T00:00:00.000Z</LastModified>"
            b"<ETag>\"etag-1\"</ETag></CopyPartResult>"
        )
    if method == "PUT" and "x-amz-copy-source" in headers:
        return 200, {"Content-Type": "application/xml"}, XML + (
            b"<CopyObjectResult><LastModified>2025-01-01T00:00:00.000Z</LastModified>"
            b"<ETag>\"etag-1\"</ETag></CopyObjectResult>"
        )
    if method == "GET" and (_has(query, "list-type") or (not has_key and query in ("", "prefix"))):
        return 200, {"Content-Type": "application/xml"}, XML + (
            b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
            b"<IsTruncated>false</IsTruncated></ListBucketResult>"
        )
    if method == "GET" and _has(query, "location"):
        return 200, {"Content-Type": "application/xml"}, XML + (
            b'<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>'
        )
    if has_key and method in ("HEAD", "GET") and query in ("",) or (
        has_key and method == "GET" and (_has(query, "versionId") or _has(query, "partNumber"))
    ):
        data = b"hello corpus\n"
        h = {
            "Content-Length": str(len(data)),
            "ETag": '"etag-1"',
            "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT",
            "Content-Type": "binary/octet-stream",
            "Accept-Ranges": "bytes",
        }
        return 200, h, (b"" if method == "HEAD" else data)
    if method == "DELETE":
        return 204, {}, b""
    return 200, {"ETag": '"etag-1"', "Content-Type": "application/xml"}, b""


def _canned(method, host, path, headers, body):
    """A response good enough for the client to finish (or fail to parse and stop)."""
    if headers.get("smithy-protocol", "").lower() == "rpc-v2-cbor":
        return 200, {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}, b"\xa0"
    target = headers.get("x-amz-target")
    if target is not None:
        ctype = headers.get("content-type", "application/x-amz-json-1.0")
        return 200, {"Content-Type": ctype}, b"{}"
    svc = _scope_service(headers)
    if svc is None and ("X-Amz-Credential=" in path or "AWSAccessKeyId=" in path):
        svc = "s3"
    if svc == "s3" and ".s3-control." not in host:
        return _s3_response(method, host, path, headers, body)
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = body.decode("utf-8", "replace")
        m = re.search(r"(?:^|&)Action=([A-Za-z0-9]+)", form)
        action = m.group(1) if m else "Unknown"
        if action == "GetCallerIdentity":
            inner = (
                b"<GetCallerIdentityResult><Arn>arn:aws:iam::111111111111:user/corpus</Arn>"
                b"<UserId>AIDAEXAMPLE</UserId><Account>111111111111</Account></GetCallerIdentityResult>"
            )
        else:
            inner = b""
        a = action.encode()
        return 200, {"Content-Type": "text/xml"}, XML + (
            b"<" + a + b'Response xmlns="https://example.amazonaws.com/doc/">' + inner +
            b"<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
            b"</ResponseMetadata></" + a + b"Response>"
        )
    if ".s3-control." in host:
        return 200, {"Content-Type": "application/xml"}, XML + b"<Result/>"
    # rest-json (lambda, apigateway, sesv2, ...)
    return 200, {"Content-Type": "application/json"}, b"{}"


class Recorder:
    def __init__(self):
        self.path = os.environ["CORPUS_CAPTURE_FILE"]

    def requestheaders(self, flow: http.HTTPFlow):
        req = flow.request
        flow.metadata["corpus_headers"] = [
            [k.decode("latin-1").lower(), v.decode("latin-1")] for k, v in req.headers.fields
        ]
        flow.metadata["corpus_method"] = req.method
        flow.metadata["corpus_path"] = req.data.path.decode("latin-1")

    def request(self, flow: http.HTTPFlow):
        req = flow.request
        headers = flow.metadata.get("corpus_headers") or [
            [k.decode("latin-1").lower(), v.decode("latin-1")] for k, v in req.headers.fields
        ]
        method = flow.metadata.get("corpus_method", req.method)
        path = flow.metadata.get("corpus_path", req.data.path.decode("latin-1"))
        host = req.host_header or req.pretty_host
        body = req.raw_content or b""
        with _LOCK:
            _SEQ[0] += 1
            rec = {
                "seq": _SEQ[0],
                "method": method,
                "host": host,
                "path": path,
                "headers": headers,
                "body_b64": base64.b64encode(body).decode(),
            }
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
        hdict = {}
        for k, v in headers:
            hdict.setdefault(k, v)
        status, rh, rbody = _canned(method, host, path, hdict, body)
        rh = dict(rh)
        rh.setdefault("x-amz-request-id", "CORPUS0000000000")
        resp = http.Response.make(status, rbody, rh)
        if "Content-Length" in rh:  # HEAD: keep the object's length, send no body
            resp.headers["content-length"] = rh["Content-Length"]
        flow.response = resp


addons = [Recorder()]
