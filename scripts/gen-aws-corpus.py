#!/usr/bin/env python3
"""Generate tests/corpus/aws/generated/: one botocore request per operation of
every AWS service botocore ships, each with the facets clawgate must derive.

    .venv/bin/python scripts/gen-aws-corpus.py

Everything runs in-process with botocore's own clients, serializers, endpoint
resolver and signer; nothing is sent: a `before-send` handler captures the
prepared request and stops the call, and the HTTP session itself refuses to
send. The clock, UUIDs, User-Agent platform fields and PYTHONHASHSEED are fixed,
so a re-run with the same botocore gives byte-identical files.

Expectations come from what was invoked, never from parsing the request: the
operation called, the access key used (its 12 digits are the account), and the
signing name and region botocore's signer was built with (captured by wrapping
`RequestSigner.get_auth_instance`, i.e. after the endpoint rules' auth scheme
was applied). The produced credential scope is only checked against them, as a
sanity check.

Standard library and botocore only. Fails loudly on anything unexpected; what
botocore itself cannot build is skipped and counted by reason (printed, and
written to generated/README.md).
"""

import base64
import datetime
import gzip
import json
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "corpus" / "aws" / "generated"
MODELS_TXT = REPO / "src" / "aws" / "models.txt"

FIXED_NOW = datetime.datetime(2025, 1, 15, 12, 0, 0)
FIXED_EPOCH = 1736942400  # FIXED_NOW as a Unix time (UTC)
STREAM_BODY = b"hello corpus\n"
INPUT_TIME = datetime.datetime(2025, 1, 1, 0, 0, 0, tzinfo=datetime.timezone.utc)
MAX_BODY = 64 * 1024
MIN_SERVICES = 400

A1, A2 = "111111111111", "222222222222"
KEYS = {A1: "AKIA111111111111XXXX", A2: "AKIA222222222222XXXX"}
SECRET = "corpusSecretKey/DoNotUse/0000000000000000"
ACCOUNTS = (A1, A2)

# Regions of the plain variant (one per operation, chosen by a hash of its name).
PLAIN_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")
PARTITIONS = {"aws": "aws", "cn": "aws-cn", "us-gov": "aws-us-gov"}
# Endpoint variants: (label, regions to pick from, Config kwargs). Every service,
# a sample of SAMPLE_OPS operations (all of S3's).
ENDPOINT_VARIANTS = (
    ("fips", ("us-east-1", "us-west-2"), {"use_fips_endpoint": True}),
    ("dualstack", ("us-east-1", "eu-west-1"), {"use_dualstack_endpoint": True}),
    ("cn", ("cn-north-1", "cn-northwest-1"), {}),
    ("gov", ("us-gov-west-1",), {}),
)
SAMPLE_OPS = 5
S3_LIKE = ("s3", "s3control", "s3outposts", "s3tables", "s3vectors")

# Presigned URLs: (model, operation, params, HttpMethod or None, client config, label).
S3_PRESIGN_OPS = (
    ("GetObject", {"Key": "reports/q1 2025.pdf"}),
    ("PutObject", {"Key": "uploads/new.txt"}),
    ("HeadObject", {"Key": "a/obj.txt"}),
    ("DeleteObject", {"Key": "a/obj.txt"}),
    ("GetObjectTagging", {"Key": "a/obj.txt"}),
    ("UploadPart", {"Key": "big/part.bin", "UploadId": "UPLOAD-ID-1", "PartNumber": 1}),
    ("CreateMultipartUpload", {"Key": "big/part.bin"}),
    ("ListObjectsV2", {}),
    ("GetBucketAcl", {}),
)
OTHER_PRESIGN = (
    ("sts", "GetCallerIdentity", {}, None, "presign"),
    ("sts", "GetCallerIdentity", {}, "GET", "presign-get"),
    ("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::{account}:role/example", "RoleSessionName": "s"}, None,
     "presign"),
    ("ec2", "DescribeInstances", {}, None, "presign"),
    ("ec2", "DescribeRegions", {}, "GET", "presign-get"),
    ("iam", "ListUsers", {}, None, "presign"),
    ("sns", "ListTopics", {}, None, "presign"),
    ("rds", "DescribeDBInstances", {}, None, "presign"),
    ("cloudformation", "DescribeStacks", {}, None, "presign"),
    ("lambda", "GetFunction", {"FunctionName": "example"}, None, "presign"),
    ("lambda", "ListFunctions", {}, None, "presign"),
    ("apigateway", "GetRestApis", {}, None, "presign"),
    ("s3control", "ListAccessPoints", {"AccountId": "{account}"}, None, "presign"),
    ("cloudfront", "ListDistributions", {}, None, "presign"),
    ("route53", "ListHostedZones", {}, None, "presign"),
    ("ecr-public", "DescribeRegistries", {}, None, "presign"),
)

# ARN members: which service an ARN names, from a hint in the member's name.
ARN_HINTS = (
    ("role", "iam"), ("policy", "iam"), ("saml", "iam"), ("provider", "iam"), ("user", "iam"), ("kms", "kms"), ("key", "kms"),
    ("topic", "sns"), ("sns", "sns"), ("queue", "sqs"), ("loggroup", "logs"), ("log", "logs"),
    ("lambda", "lambda"), ("function", "lambda"), ("secret", "secretsmanager"),
    ("certificate", "acm"), ("bucket", "s3"), ("table", "dynamodb"), ("stream", "kinesis"),
)
GLOBAL_ARN_SERVICES = ("iam", "cloudfront", "route53", "organizations", "s3", "waf", "globalaccelerator")
# Resource parts of ARNs where the endpoint rules parse them.
ARN_RESOURCE = {
    ("kinesis", "StreamARN"): "stream/example",
    ("kinesis", "ConsumerARN"): "stream/example/consumer/example:1736942400",
    ("dynamodbstreams", "StreamArn"): "table/example/stream/2025-01-15T12:00:00.000",
    ("eventbridgev2", "EventBusArn"): "event-bus/example",
    ("kinesis", "ChannelARN"): "channel/example",
    ("kinesis", "QueueARN"): "queue/example",
    ("cloudfront-keyvaluestore", "KvsARN"): "key-value-store/example",
}
ARN_SERVICE = {"cloudfront-keyvaluestore": "cloudfront"}
# Services that answer only on per-resource hosts (the default host botocore's
# rules build is not where they answer): built with an endpoint_url shaped like
# the real ones (what DescribeDomains, GetDataEndpoint, DescribeContainer... return).
CUSTOM_ENDPOINTS = {
    "cloudsearchdomain": lambda region, op: "https://%s-corpus-abcdefghijklmnopqrstuvwxyz.%s.cloudsearch.amazonaws.com"
    % ("doc" if op == "UploadDocuments" else "search", region),
    "mediastore-data": lambda region, op: "https://abcdefghijklmn.data.mediastore.%s.amazonaws.com" % region,
    "kinesis-video-media": lambda region, op: "https://s-0123abcd.kinesisvideo.%s.amazonaws.com" % region,
    "kinesis-video-archived-media": lambda region, op: "https://b-0123abcd.kinesisvideo.%s.amazonaws.com" % region,
    "kinesis-video-signaling": lambda region, op: "https://r-0123abcd.kinesisvideo.%s.amazonaws.com" % region,
    "kinesis-video-webrtc-storage": lambda region, op: "https://w-0123abcd.kinesisvideo.%s.amazonaws.com" % region,
    "apigatewaymanagementapi": lambda region, op: "https://a1b2c3d4e5.execute-api.%s.amazonaws.com/prod" % region,
    "neptunedata": lambda region, op: "https://corpus.cluster-abcdefghijkl.%s.neptune.amazonaws.com:8182" % region,
}
CUSTOM_ENDPOINT_REASON = ("custom endpoint only (per-resource hosts): built with an endpoint_url instead, "
                          "variant custom-endpoint")
# Members a botocore customisation reads as more than a string.
FIXED_STRINGS = {
    ("machinelearning", "PredictEndpoint"): "https://realtime.machinelearning.us-east-1.amazonaws.com",
}
# Variant `example`: botocore's documented example inputs (examples-1.json of the
# model's API version), at most this many per operation, in file order.
EXAMPLES_PER_OP = 3
SIGV4_FAMILY = ("v4", "s3v4", "v4-query", "s3v4-query", "v4a", "v4-s3express", "s3v4a")


def fail(msg):
    sys.stderr.write("gen-aws-corpus: error: %s\n" % msg)
    sys.exit(1)


def crc(*parts):
    return zlib.crc32("\0".join(parts).encode())


def pick(seq, *parts):
    return seq[crc(*parts) % len(seq)]


# --------------------------------------------------------------------------------------
# determinism and isolation
class Captured(Exception):
    """Raised from before-send: the prepared request, never sent."""

    def __init__(self, request, operation):
        super().__init__(operation)
        self.request = request
        self.operation = operation


class NetworkAttempt(Exception):
    """botocore got past before-send and tried to send: never expected."""


class State:
    """What the hooks saw during the current invocation."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.auth = []  # kwargs of every RequestSigner.get_auth_instance call
        self.signed = []  # the requests seen in before-sign
        self.uuid_counter = 0
        self.invoked = None  # the operation being invoked
        self.discovery_op = None  # its service's endpoint-discovery operation, when required


STATE = State()


def patch_botocore():
    import platform
    import types

    import botocore.auth
    import botocore.httpsession
    import botocore.signers
    import botocore.useragent

    def now(remove_tzinfo=True):
        return FIXED_NOW if remove_tzinfo else FIXED_NOW.replace(tzinfo=datetime.timezone.utc)

    botocore.auth.get_current_datetime = now
    fixed_time = types.SimpleNamespace(
        time=lambda: float(FIXED_EPOCH),
        gmtime=lambda *a: time.gmtime(a[0] if a else FIXED_EPOCH),
        strftime=time.strftime,
        mktime=time.mktime,
    )
    botocore.auth.time = fixed_time

    def uuid4():
        STATE.uuid_counter += 1
        return uuid.UUID(int=(0x0C0FFEE0 << 96) | STATE.uuid_counter, version=4)

    uuid.uuid4 = uuid4
    botocore.useragent.platform = types.SimpleNamespace(
        system=lambda: "Linux", release=lambda: "6.0", machine=lambda: "x86_64",
        python_version=lambda: "3.11.0", python_implementation=platform.python_implementation,
    )

    orig = botocore.signers.RequestSigner.get_auth_instance

    def get_auth_instance(self, signing_name, region_name, signature_version=None, request_credentials=None,
                          **kwargs):
        STATE.auth.append({"signing_name": signing_name, "region": region_name,
                           "signature_version": signature_version})
        return orig(self, signing_name, region_name, signature_version, request_credentials, **kwargs)

    botocore.signers.RequestSigner.get_auth_instance = get_auth_instance

    def no_network(self, request):
        raise NetworkAttempt("%s %s" % (request.method, request.url))

    botocore.httpsession.URLLib3Session.send = no_network


def isolate_environment(work):
    for k in list(os.environ):
        if k.startswith("AWS_") or k.lower() in ("http_proxy", "https_proxy", "no_proxy", "all_proxy") \
                or k == "_X_AMZN_TRACE_ID":
            del os.environ[k]
    empty = Path(work) / "empty"
    empty.write_text("")
    os.environ["AWS_CONFIG_FILE"] = str(empty)
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(empty)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


# --------------------------------------------------------------------------------------
# synthetic inputs
def partition_of(region):
    if region.startswith("cn-"):
        return PARTITIONS["cn"]
    if region.startswith("us-gov-"):
        return PARTITIONS["us-gov"]
    return PARTITIONS["aws"]


def is_account_pattern(pattern):
    return bool(re.fullmatch(r"\^?(\\d|\[0-9\])\{12\}\$?", pattern or ""))


class Inputs:
    """Minimal inputs: every required member, with a plausible value."""

    MAX_DEPTH = 12

    def __init__(self, model_name, service_model, region, account, context_members=()):
        self.model_name = model_name
        # members the endpoint rules read: their ARNs must name this service
        self.context_members = frozenset(context_members)
        self.service_model = service_model
        self.region = region
        self.partition = partition_of(region)
        self.account = account

    def for_operation(self, op_model):
        shape = op_model.input_shape
        if shape is None:
            return {}
        out = self.structure(shape, (), 0)
        # a streamed payload (S3 PutObject, Lambda Invoke...) gets a small body even when optional
        payload = shape.serialization.get("payload")
        if payload and payload not in out:
            member = shape.members[payload]
            if member.type_name == "blob" and member.serialization.get("streaming"):
                out[payload] = STREAM_BODY
        return out

    def structure(self, shape, stack, depth):
        if shape.is_document_type:
            return {"example": "value"}
        if depth > self.MAX_DEPTH:
            fail("%s: input nests deeper than %d (%s)" % (self.model_name, self.MAX_DEPTH, "/".join(stack)))
        if shape.is_tagged_union:
            # exactly one member: the first that does not recurse
            for name, member in shape.members.items():
                if member.name not in stack:
                    return {name: self.value(name, member, stack + (shape.name,), depth + 1)}
            fail("%s: union %s has only recursive members" % (self.model_name, shape.name))
        out = {}
        for name in shape.required_members:
            member = shape.members[name]
            out[name] = self.value(name, member, stack + (shape.name,), depth + 1)
        return out

    def value(self, name, shape, stack, depth):
        t = shape.type_name
        if t == "structure":
            return self.structure(shape, stack, depth)
        if t == "list":
            n = max(1, shape.metadata.get("min", 0))
            if n > 20:
                fail("%s: list %s needs %d items" % (self.model_name, name, n))
            return [self.value(name, shape.member, stack, depth + 1) for _ in range(n)]
        if t == "map":
            return {self.string("key", shape.key): self.value(name, shape.value, stack, depth + 1)}
        if t == "string":
            return self.string(name, shape)
        if t in ("integer", "long"):
            lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
            v = 1 if lo is None else max(1, int(lo))
            return int(hi) if hi is not None and v > hi else v
        if t in ("float", "double"):
            return float(max(1, shape.metadata.get("min", 1)))
        if t == "boolean":
            return True
        if t == "timestamp":
            return INPUT_TIME
        if t == "blob":
            return self.pad(b"example", shape)
        fail("%s: unknown shape type %r (%s)" % (self.model_name, t, name))

    @staticmethod
    def pad(v, shape):
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        if lo is not None and len(v) < lo:
            v = v + (b"x" if isinstance(v, bytes) else "x") * (int(lo) - len(v))
        if hi is not None and len(v) > hi:
            v = v[: int(hi)]
        return v

    def string(self, name, shape):
        if shape.enum:
            return shape.enum[0]
        lname = name.lower()
        pattern = shape.metadata.get("pattern", "")
        if lname.endswith(("accountid", "accountids")) or lname in ("account", "awsaccount") \
                or is_account_pattern(pattern):
            return self.account
        if lname.endswith(("arn", "arns")) or pattern.lstrip("^").startswith("arn:"):
            return self.arn(name)
        if (self.model_name, name) in FIXED_STRINGS:
            return FIXED_STRINGS[(self.model_name, name)]
        if self.model_name in S3_LIKE:
            if lname in ("bucket", "bucketname"):
                return "corpus-bucket"
            if lname == "key":
                return "a/obj.txt"
            if lname == "copysource":
                return "source-bucket/src/obj.txt"
        if lname.endswith("region"):
            return self.pad(self.region, shape)
        # anything else, host labels included: a valid DNS label, path segment and name
        return self.pad("example", shape)

    def arn(self, name):
        lname = name.lower()
        service = ARN_SERVICE.get(self.model_name)
        if service is None and name in self.context_members:
            service = self.service_model.signing_name or self.service_model.endpoint_prefix
        if service is None:
            for hint, svc in ARN_HINTS:
                if hint in lname:
                    service = svc
                    break
        if service is None:
            service = self.service_model.signing_name or self.service_model.endpoint_prefix
        resource = ARN_RESOURCE.get((self.model_name, name))
        if resource is None:
            resource = {"iam": "role/example" if "role" in lname else "policy/example", "s3": "example",
                        "dynamodb": "table/example", "kinesis": "stream/example",
                        "lambda": "function:example", "sns": "example", "sqs": "example",
                        "logs": "log-group:example"}.get(service, "resource/example")
        region = "" if service in GLOBAL_ARN_SERVICES else self.region
        account = "" if service == "s3" else self.account
        return "arn:%s:%s:%s:%s:%s" % (self.partition, service, region, account, resource)


# --------------------------------------------------------------------------------------
# deprecated twins (from the model only)
def normalised_uri(uri):
    return re.sub(r"\{[^}]*?(\+?)\}", lambda m: "{" + m.group(1) + "}", uri)


def bound_locations(op_model, required_only):
    shape = op_model.input_shape
    if shape is None:
        return frozenset()
    names = shape.required_members if required_only else shape.members
    out = set()
    for n in names:
        s = shape.members[n].serialization
        if s.get("location") in ("header", "querystring", "headers"):
            out.add((s["location"], (s.get("name") or n).lower()))
    return frozenset(out)


def deprecated_twins(service_model):
    """deprecated op -> the non-deprecated op the wire cannot tell it from: same
    protocol (REST only: the other protocols name the operation on the wire), same
    method, same requestUri with labels unnamed, and the deprecated op's required
    header/query bindings all bindable on the twin."""
    protocol = service_model.resolved_protocol
    if protocol not in ("rest-json", "rest-xml"):
        return {}
    ops = {n: service_model.operation_model(n) for n in service_model.operation_names}
    out = {}
    for name, op in ops.items():
        if not op.deprecated:
            continue
        key = (op.http.get("method"), normalised_uri(op.http.get("requestUri", "")))
        twins = sorted(
            n for n, o in ops.items()
            if not o.deprecated
            and (o.http.get("method"), normalised_uri(o.http.get("requestUri", ""))) == key
            and bound_locations(op, True) <= bound_locations(o, False)
        )
        if len(twins) > 1:
            fail("%s.%s: several deprecated twins %s" % (service_model.service_name, name, twins))
        if twins:
            out[name] = twins[0]
    return out


# --------------------------------------------------------------------------------------
# invocation and capture
def body_bytes(body):
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fail("unexpected request body type %r" % type(body))


def header_text(v):
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            fail("a header value that is not UTF-8: %r" % v)
    if not isinstance(v, str):
        fail("unexpected header value type %r" % type(v))
    return v


def body_json(body):
    text = None
    try:
        text = body.decode("utf-8")
        if any(ord(c) < 32 and c not in "\r\n\t" for c in text):
            text = None
    except UnicodeDecodeError:
        text = None
    if text is not None:
        return text, False
    return base64.b64encode(body).decode("ascii"), True


def credential_scope(url, headers):
    """(key, region, service) from the Authorization header or X-Amz-Credential
    query; used only to sanity-check the captured signing context."""
    auth = " ".join(v for k, v in headers if k == "authorization")
    m = re.search(r"Credential=([A-Z0-9]+)/\d{8}/([^/]+)/([^/]+)/aws4_request", auth) or re.search(
        r"X-Amz-Credential=([A-Z0-9]+)%2F\d{8}%2F([^%]+)%2F([^%]+)%2Faws4_request", url)
    return m.groups() if m else None


def carries_signature(url, headers, body):
    """Whether the request carries a signature anywhere: the Authorization header,
    the query (presigned), or a SigV2 form body (SimpleDB)."""
    names = {k for k, _ in headers}
    query = urlsplit(url).query
    form = body.startswith(b"Action=") or b"&Signature=" in body
    return "authorization" in names or re.search(r"(^|&)(X-Amz-)?Signature=", query) is not None \
        or (form and re.search(rb"(^|&)Signature=", body) is not None)


class SkipOperation(Exception):
    """botocore cannot build this request; the reason is counted."""


# What some botocore exceptions mean here, for the skip summary.
KNOWN_REASONS = {
    "NoAuthTokenError": "bearer-token auth only (smithy.api#httpBearerAuth), no SigV4",
    "MissingDependencyException": "SigV4a only (botocore needs awscrt, not installed)",
}


def reason_of(exc):
    """A short, value-free reason for a skip summary."""
    known = KNOWN_REASONS.get(type(exc).__name__)
    if known:
        return "%s: %s" % (type(exc).__name__, known)
    lines = str(exc).splitlines()
    msg = lines[0] if lines else ""
    if msg.endswith(":") and len(lines) > 1:  # "Parameter validation failed:" and the first problem
        msg = "%s %s" % (msg, lines[1])
    msg = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"", "…", msg)
    msg = re.sub(r"\b[a-z]{2}(-gov)?-[a-z]+-\d\b", "<region>", msg)
    msg = re.sub(r"\d+", "N", msg)
    return ("%s: %s" % (type(exc).__name__, msg))[:160]


class Generator:
    def __init__(self, session):
        self.session = session
        self.clients = {}
        self.records = defaultdict(list)  # model -> records
        self.skips = Counter()  # (variant, reason) -> n
        self.skip_examples = {}
        self.counts = Counter()  # variant -> records
        self.example_unvalidated = 0  # example records built with parameter validation off

    # ---- clients
    def client(self, model, region, account, variant_config=None, account_id=False, endpoint_url=None):
        from botocore.config import Config

        key = (model, region, account, json.dumps(variant_config or {}, sort_keys=True), account_id, endpoint_url)
        c = self.clients.get(key)
        if c is None:
            kwargs = {"parameter_validation": False, "retries": {"total_max_attempts": 1, "mode": "standard"}}
            kwargs.update(variant_config or {})
            cfg = Config(**kwargs)
            extra = {"aws_account_id": account} if account_id else {}
            if endpoint_url:
                extra["endpoint_url"] = endpoint_url
            c = self.session.create_client(model, region_name=region, aws_access_key_id=KEYS[account],
                                           aws_secret_access_key=SECRET, config=cfg, **extra)
            c.meta.events.register("before-send", self.on_send)
            c.meta.events.register("before-sign", self.on_sign)
            self.clients[key] = c
        return c

    def drop_clients(self):
        self.clients.clear()

    def on_sign(self, request, **kw):
        STATE.signed.append(request)

    def on_send(self, request, event_name, **kw):
        op = event_name.rsplit(".", 1)[1]
        if op != STATE.invoked and op == STATE.discovery_op:
            return self.discovery_response(request)
        raise Captured(request, op)

    @staticmethod
    def discovery_response(request):
        """Endpoint discovery (Timestream): answer DescribeEndpoints with a cell
        address derived from the discovery host, the form AWS returns."""
        from botocore.awsrequest import AWSResponse

        host = urlsplit(request.url).netloc
        first, _, rest = host.partition(".")
        body = json.dumps({"Endpoints": [{"Address": "%s-cell1.%s" % (first, rest),
                                          "CachePeriodInMinutes": 1440}]}).encode()

        class Raw:
            def stream(self, **kw):
                yield body

            def read(self, *a):
                return body

        return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.0"}, Raw())

    # ---- one API call
    def invoke(self, client, model, op, params):
        service_model = client.meta.service_model
        op_model = service_model.operation_model(op)
        STATE.reset()
        STATE.invoked = op
        STATE.discovery_op = None
        if op_model.endpoint_discovery and op_model.endpoint_discovery.get("required"):
            STATE.discovery_op = next((n for n in service_model.operation_names
                                       if service_model.operation_model(n).is_endpoint_discovery_operation), None)
        method = self.method_name(client, op)
        try:
            getattr(client, method)(**params)
        except Captured as c:
            if c.operation != op:
                fail("%s.%s: botocore sent %s instead" % (model, op, c.operation))
            return c.request
        except NetworkAttempt as e:
            fail("%s.%s: botocore tried to send a request: %s" % (model, op, e))
        except Exception as e:  # botocore could not build it: counted, not hidden
            raise SkipOperation(reason_of(e)) from e
        fail("%s.%s: the call returned without sending" % (model, op))

    @staticmethod
    def method_name(client, op):
        for py, api in client.meta.method_to_api_mapping.items():
            if api == op:
                return py
        fail("%s: no client method for %s" % (client.meta.service_model.service_name, op))

    @staticmethod
    def signing():
        """The signer's (signing_name, region, signature_version) of the last
        signing (earlier ones are presigned URLs botocore puts in parameters)."""
        return STATE.auth[-1] if STATE.auth else None

    def record(self, model, op, variant, account, request, twins):
        url = request.url
        split = urlsplit(url)
        if split.scheme != "https":
            fail("%s.%s %s: not https: %s" % (model, op, variant, url))
        headers = [["host", split.netloc]] + [[header_text(k).lower(), header_text(v)]
                                              for k, v in request.headers.items()]
        body = body_bytes(request.body)
        if len(body) > MAX_BODY:
            raise SkipOperation("body over 64 KiB")
        return self.make_record(model, op, variant, account, request.method, url, headers, body, twins)

    def make_record(self, model, op, variant, account, method, url, headers, body, twins):
        service_model = self.session.get_service_model(model)
        sign = self.signing()
        signed = sign is not None
        if signed != carries_signature(url, headers, body):
            fail("%s.%s %s: a signer was %sbuilt, but the request %s a signature"
                 % (model, op, variant, "" if signed else "not ", "lacks" if signed else "carries"))
        text, b64 = body_json(body)
        rec = {"model": model, "operation": op, "variant": variant,
               "request": {"method": method, "url": url, "headers": headers, "body": text, "body_base64": b64}}
        if signed:
            sv = str(sign["signature_version"])
            v4 = sv in SIGV4_FAMILY
            scope = credential_scope(url, headers)
            if v4:
                if scope is None:
                    fail("%s.%s %s: SigV4 (%s) without a credential scope" % (model, op, variant, sv))
                if scope != (KEYS[account], sign["region"], sign["signing_name"]):
                    fail("%s.%s %s: credential scope %s != signer %s" % (model, op, variant, scope, sign))
            rec["expect"] = {"action": op, "account": account,
                             "region": sign["region"] if v4 else None,
                             "signing_name": sign["signing_name"]}
            rec["signature_version"] = sv
        else:
            rec["expect"] = {"action": op, "account": None, "region": None, "signing_name": None}
            rec["unsigned"] = True
        rec["endpoint_prefix"] = service_model.endpoint_prefix
        if op in twins:
            rec["deprecated_twin_of"] = twins[op]
        self.records[model].append(rec)
        self.counts[variant] += 1
        return rec

    def skip(self, variant, model, op, reason):
        self.skips[(variant, reason)] += 1
        self.skip_examples.setdefault((variant, reason), "%s.%s" % (model, op))

    # ---- a service
    def service(self, model):
        service_model = self.session.get_service_model(model)
        twins = deprecated_twins(service_model)
        ops = sorted(service_model.operation_names)
        built = []
        if model in CUSTOM_ENDPOINTS:
            for op in ops:
                self.skip("plain", model, op, CUSTOM_ENDPOINT_REASON)
                region = pick(PLAIN_REGIONS, model, op, "custom-endpoint")
                account = pick(ACCOUNTS, model, op, "account")
                self.one(model, op, "custom-endpoint", region, account, {}, twins,
                         endpoint_url=CUSTOM_ENDPOINTS[model](region, op))
            self.examples(model, service_model, twins)
            self.drop_clients()
            return
        if model == "s3":
            plans = [("path", {"s3": {"addressing_style": "path"}}), ("vhost", {"s3": {"addressing_style": "virtual"}})]
        else:
            plans = [("plain", {})]
        for variant, cfg in plans:
            for op in ops:
                region = pick(PLAIN_REGIONS, model, op, variant)
                account = pick(ACCOUNTS, model, op, "account")
                if self.one(model, op, variant, region, account, cfg, twins):
                    built.append(op)
        built = sorted(set(built))
        # endpoint variants on a sample (S3: everything)
        for variant, regions, cfg in ENDPOINT_VARIANTS:
            sample = built if model == "s3" else sorted(built, key=lambda o: crc(model, o, variant))[:SAMPLE_OPS]
            for op in sorted(sample):
                region = pick(regions, model, op, variant)
                account = pick(ACCOUNTS, model, op, "account")
                self.one(model, op, variant, region, account, cfg, twins)
        # account-id endpoints, where the rules read the credentials' account id
        if self.uses_account_builtin(model):
            for op in ops:
                region = pick(PLAIN_REGIONS, model, op, "account-endpoint")
                account = pick(ACCOUNTS, model, op, "account")
                self.one(model, op, "account-endpoint", region, account, {}, twins, account_id=True)
        self.examples(model, service_model, twins)
        self.drop_clients()

    # ---- botocore's documented example inputs
    def examples(self, model, service_model, twins):
        from botocore.exceptions import DataNotFoundError

        loader = self.session.get_component("data_loader")
        try:
            data = loader.load_service_model(model, "examples-1", api_version=service_model.api_version)
        except DataNotFoundError:
            return
        variant = "example"
        for op, examples in sorted(data.get("examples", {}).items()):
            inputs = [e["input"] for e in examples if isinstance(e, dict) and "input" in e][:EXAMPLES_PER_OP]
            if not inputs:
                continue
            if op not in service_model.operation_names:
                for _ in inputs:
                    self.skip(variant, model, op, "example of an operation the model does not have")
                continue
            op_model = service_model.operation_model(op)
            for i, params in enumerate(inputs):
                region = pick(PLAIN_REGIONS, model, op, variant, str(i))
                account = pick(ACCOUNTS, model, op, "account")
                if op_model.get_event_stream_input() is not None:
                    self.skip(variant, model, op, "event-stream input (botocore cannot send one)")
                    continue
                # An empty string for a path label (polly GetLexicon's `"Name": ""`) is a
                # documentation placeholder, not a request: botocore builds `/v1/lexicons/`,
                # which is another operation's route (ListLexicons), so no server would
                # take it for this one.
                if any(m.serialization.get("location") == "uri" and params.get(n) == ""
                       for n, m in (op_model.input_shape.members.items() if op_model.input_shape else ())):
                    self.skip(variant, model, op, "example input: empty string for a URI path label (a placeholder)")
                    continue
                endpoint_url = CUSTOM_ENDPOINTS[model](region, op) if model in CUSTOM_ENDPOINTS else None
                # validated first; what botocore refuses is retried unvalidated (examples may
                # predate the model: renamed members, strings for numbers...)
                request = None
                for validate in (True, False):
                    client = self.client(model, region, account, {"parameter_validation": validate},
                                         endpoint_url=endpoint_url)
                    try:
                        request = self.invoke(client, model, op, json.loads(json.dumps(params)))
                        break
                    except SkipOperation as s:
                        reason = str(s)
                if request is None:
                    self.skip(variant, model, op, reason)
                    continue
                try:
                    rec = self.record(model, op, variant, account, request, twins)
                except SkipOperation as s:
                    self.skip(variant, model, op, str(s))
                    continue
                if not validate:
                    rec["example_unvalidated"] = True
                    self.example_unvalidated += 1

    def uses_account_builtin(self, model):
        loader = self.session.get_component("data_loader")
        rules = loader.load_service_model(model, "endpoint-rule-set-1")
        return any(p.get("builtIn") == "AWS::Auth::AccountId" for p in rules.get("parameters", {}).values())

    def one(self, model, op, variant, region, account, cfg, twins, account_id=False, endpoint_url=None):
        service_model = self.session.get_service_model(model)
        op_model = service_model.operation_model(op)
        if op_model.get_event_stream_input() is not None:
            self.skip(variant, model, op, "event-stream input (botocore cannot send one)")
            return False
        try:
            client = self.client(model, region, account, cfg, account_id, endpoint_url)
        except Exception as e:
            self.skip(variant, model, op, reason_of(e))
            return False
        context = [p.member_name for p in op_model.context_parameters]
        params = Inputs(model, service_model, region, account, context).for_operation(op_model)
        try:
            request = self.invoke(client, model, op, params)
            self.record(model, op, variant, account, request, twins)
        except SkipOperation as s:
            self.skip(variant, model, op, str(s))
            return False
        return True

    # ---- presigned URLs
    def presign(self, model, op, params, http_method, cfg, variant, region, account):
        service_model = self.session.get_service_model(model)
        twins = deprecated_twins(service_model)
        client = self.client(model, region, account, cfg)
        params = json.loads(json.dumps(params).replace("{account}", account))
        STATE.reset()
        try:
            url = client.generate_presigned_url(self.method_name(client, op), Params=params, ExpiresIn=900,
                                                HttpMethod=http_method)
        except Exception as e:
            self.skip(variant, model, op, reason_of(e))
            return
        if len(STATE.signed) != 1:
            fail("%s.%s %s: %d signings for one presigned URL" % (model, op, variant, len(STATE.signed)))
        request = STATE.signed[0]
        # a client fetching the URL must send the headers it signs (X-Amz-SignedHeaders),
        # with the values botocore signed; nothing else
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        signed = set(query.get("X-Amz-SignedHeaders", "host").split(";"))
        headers = [["host", urlsplit(url).netloc]]
        for k, v in request.headers.items():
            name = header_text(k).lower()
            if name in signed and name != "host":
                headers.append([name, header_text(v)])
        if {h[0] for h in headers} != signed | {"host"}:
            fail("%s.%s %s: signed headers %s, found %s" % (model, op, variant, sorted(signed), headers))
        self.make_record(model, op, variant, account, request.method, url, headers, b"", twins)

    def presigned(self):
        n = 0
        for op, p in S3_PRESIGN_OPS:
            for label, cfg in (("presign", {}), ("presign-s3v4", {"signature_version": "s3v4"}),
                               ("presign-s3v4-path", {"signature_version": "s3v4",
                                                      "s3": {"addressing_style": "path"}})):
                n += 1
                region = ("us-east-1", "eu-west-1", "us-west-2")[n % 3]
                account = ACCOUNTS[n % 2]
                self.presign("s3", op, dict(p, Bucket="corpus-bucket"), None, cfg, label, region, account)
        for model, op, p, http_method, label in OTHER_PRESIGN:
            region = pick(PLAIN_REGIONS, model, op, label)
            account = pick(ACCOUNTS, model, op, "account")
            self.presign(model, op, p, http_method, {}, label, region, account)
        self.drop_clients()


# --------------------------------------------------------------------------------------
# output
def write_outputs(gen, models, botocore_version, table_version):
    OUT.mkdir(parents=True, exist_ok=True)
    for p in OUT.glob("*.jsonl.gz"):
        p.unlink()
    total_bytes = 0
    for model in models:
        recs = gen.records.get(model)
        if not recs:
            continue
        data = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in recs)
        blob = gzip.compress(data.encode("utf-8"), compresslevel=9, mtime=0)
        (OUT / ("%s.jsonl.gz" % model)).write_bytes(blob)
        total_bytes += len(blob)
    (OUT / "README.md").write_text(readme(gen, models, botocore_version, table_version, total_bytes),
                                   encoding="utf-8")
    return total_bytes


def readme(gen, models, botocore_version, table_version, total_bytes):
    n_records = sum(gen.counts.values())
    n_files = sum(1 for m in models if gen.records.get(m))
    variants = "\n".join("| `%s` | %d |" % (v, n) for v, n in sorted(gen.counts.items()))
    skipped = sum(gen.skips.values())
    skips = "\n".join(
        "| `%s` | %s | %d | `%s` |" % (v, r.replace("|", "\\|"), n, gen.skip_examples[(v, r)])
        for (v, r), n in sorted(gen.skips.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    mismatch = ""
    if table_version != botocore_version:
        mismatch = (
            "\n**Note:** `src/aws/models.txt` was generated from botocore %s, this corpus from "
            "botocore %s (the version in `.venv`): operations and services newer than the table are in "
            "the corpus too.\n" % (table_version, botocore_version))
    return README_TEMPLATE.format(
        botocore=botocore_version, n_records=n_records, n_files=n_files, n_models=len(models),
        mib=total_bytes / (1 << 20), variants=variants, skipped=skipped, skips=skips or "| - | none | 0 | - |",
        mismatch=mismatch, sample=SAMPLE_OPS, examples_per_op=EXAMPLES_PER_OP,
        unvalidated=gen.example_unvalidated,
    )


README_TEMPLATE = """# Generated AWS request corpus

One request per operation of every service botocore {botocore} ships ({n_models} models,
latest API version each), built by botocore itself in-process and never sent, with the
facets clawgate must derive from it. Produced by `scripts/gen-aws-corpus.py`; checked by
`tests/aws_generated.rs`, timed by `benches/facet_corpus.rs`. Unlike `../cases/` (real
wire captures with hand-checked facets), this corpus is for breadth.
{mismatch}
**{n_records} records in {n_files} files, {mib:.1f} MiB gzipped.** Do not edit: regenerate.

## Files and schema

`<model>.jsonl.gz`: gzip (mtime 0), one JSON object per line:

```json
{{"model": "sesv2", "operation": "SendEmail", "variant": "plain",
  "request": {{"method": "POST", "url": "https://email.us-west-2.amazonaws.com/v2/email/outbound-emails",
              "headers": [["host", "email.us-west-2.amazonaws.com"], ["x-amz-date", "20250115T120000Z"], ...],
              "body": "{{...}}", "body_base64": false}},
  "expect": {{"action": "SendEmail", "account": "111111111111", "region": "us-west-2", "signing_name": "ses"}},
  "signature_version": "v4", "endpoint_prefix": "email"}}
```

and, only where they apply, `"deprecated_twin_of": "<operation>"`, `"unsigned": true` and
`"example_unvalidated": true`.

- `model`: botocore's service name (data directory); `operation`: the operation invoked;
  `endpoint_prefix`: the model's `metadata.endpointPrefix`.
- `request.url`: `https://` + host + path?query exactly as botocore built it.
  `request.headers`: `host` first (botocore leaves it to urllib3, which sends it first), then
  botocore's prepared headers in order, names lower-cased. `body`: UTF-8 text as is, anything
  else base64 with `body_base64: true`; none exceeds 64 KiB.
- `expect` (from what was invoked, never from parsing the request):
  `action` = the operation invoked; `account` = the 12 digits of the access key used
  (`AKIA111111111111XXXX` / `AKIA222222222222XXXX`, secret
  `corpusSecretKey/DoNotUse/0000000000000000`, clock 2025-01-15T12:00:00Z);
  `region` and `signing_name` = what botocore's signer was built with (after the endpoint
  rules' auth scheme: `RequestSigner.get_auth_instance`). `region` is `null` for
  SigV2-family signatures (`signature_version` `s3-query`, `v2`), which carry no region.
  The produced credential scope was checked against these values, as a sanity check only.
- `unsigned: true`: botocore produced no Authorization header and no signature query
  parameter (operations modelled without auth); `expect` then has `account`, `region`,
  `signing_name` `null` (aws.account must be absent).
- `signature_version`: botocore's signer type (`v4`, `s3v4`, `s3v4-query`, `s3-query`, ...),
  only for signed requests.
- `example_unvalidated: true` (variant `example` only): botocore's parameter validation
  refused the documented example input, so it was built with validation off.
- `deprecated_twin_of`: the operation is deprecated in the model and a non-deprecated one
  has the same protocol, HTTP method and requestUri (labels unnamed) and can carry all its
  required header/query bindings, so the wire cannot tell them apart: the facet may name
  either (computed from the model by the script).

## Variants

| variant | records |
| --- | --- |
{variants}

- `plain`: every operation (except S3's and the custom-endpoint services'), region per operation among us-east-1,
  us-west-2, eu-west-1, ap-southeast-2 and account among the two (both by a hash of the
  operation name, so stable).
- `path`, `vhost`: every S3 operation with `addressing_style` `path` / `virtual`.
- `fips`, `dualstack` (`use_fips_endpoint`, `use_dualstack_endpoint`), `cn` (cn-north-1,
  cn-northwest-1), `gov` (us-gov-west-1): for every service, {sample} operations that built in
  the plain variant (chosen by hash), every S3 operation; where the endpoint resolves.
- `account-endpoint`: every operation of the services whose endpoint rules read the
  credentials' account id (DynamoDB, DynamoDB Streams, Kinesis, EventBridge v2), with
  `aws_account_id` set on the client.
- `custom-endpoint`: every operation of the services that answer only on per-resource hosts
  (CloudSearch domains, MediaStore containers, Kinesis Video data planes, API Gateway
  management, Neptune data), with an `endpoint_url` shaped like the real ones (see
  `CUSTOM_ENDPOINTS` in the script: the shapes are from AWS documentation, the ids invented);
  their default-host variants are skipped.
- `presign*`: `generate_presigned_url` (expires 900 s). `presign`: botocore's default signer
  (S3: SigV2 `s3-query`; others SigV4 query), `presign-s3v4`, `presign-s3v4-path`: S3 with
  `signature_version='s3v4'` (virtual / path), `presign-get`: `HttpMethod='GET'` for a
  query-protocol operation. The request is what fetching the URL sends: the method botocore
  signed, a `host` header plus any other header the URL's `X-Amz-SignedHeaders` lists (with
  the value botocore signed: S3Control's `x-amz-account-id`, ECR Public's `x-amz-target`),
  empty body.
- `example`: botocore's own documented example inputs (`examples-1.json` of the model's API
  version), the first {examples_per_op} examples with an `input` per operation, each built from that
  input as is (region per example by hash, account per operation; S3 virtual-host addressing
  by default; the same clock, keys, capture and expectations as the others). Built with
  parameter validation on; {unvalidated} that botocore refused were built again with it off
  (`example_unvalidated`). Skipped (counted below): what botocore cannot build even then, and
  inputs with an empty string for a URI path label (documentation placeholders that route to
  another operation, e.g. polly GetLexicon `"Name": ""` gives ListLexicons' `/v1/lexicons/`).
  The ids, ARNs and account ids in them are the documentation's (`123456789012`,
  `111122223333`...), not the key's: a host naming such an account is a cross-account call.

Inputs of the other variants are minimal: every required member, recursively, with a synthetic value (enums their
first value; account ids the key's account; ARNs `arn:<partition>:<service>:<region>:<account>:...`
with the service guessed from the member name; S3 bucket `corpus-bucket`, key `a/obj.txt`;
regions the client's; other strings `example` padded or cut to the length limits; numbers
their minimum or 1; lists one item; timestamps 2025-01-01). Parameter validation is off,
retries off (one attempt). Idempotency tokens and invocation ids come from a fixed UUID
sequence. Timestream's required endpoint discovery is answered in-process with
`<first label>-cell1.<rest of the discovery host>` (e.g. `ingest-cell1.timestream.<region>.amazonaws.com`,
the shape AWS returns; the cell number is invented), so its operations go there.

## Skipped: {skipped}

What botocore itself cannot build is counted here (reason, first example).

| variant | reason | count | example |
| --- | --- | --- | --- |
{skips}

## Regenerating

```sh
.venv/bin/python scripts/gen-aws-corpus.py
```

Needs only `.venv`'s botocore; no network (the HTTP session refuses to send). Rewrites every
`*.jsonl.gz` here and this README. The User-Agent's platform fields are fixed
(`os/linux#6.0 lang/python#3.11.0`) and PYTHONHASHSEED is 0, so a re-run with the same
botocore gives the same records (checked: two runs, identical bytes; the gzip bytes could
still differ with another zlib). Takes about two minutes.
"""


def table_version():
    first = MODELS_TXT.read_text(encoding="utf-8").splitlines()[0]
    m = re.search(r"from botocore ([0-9][^\s;]*)", first)
    if not m:
        fail("cannot read the botocore version from %s" % MODELS_TXT)
    return m.group(1)


def main():
    work = tempfile.mkdtemp(prefix="gen-aws-corpus-")
    try:
        run(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work):
    isolate_environment(work)
    patch_botocore()
    import botocore
    import botocore.session

    session = botocore.session.Session()
    models = sorted(session.get_available_services())
    if len(models) < MIN_SERVICES:
        fail("only %d services in botocore %s" % (len(models), botocore.__version__))
    only = sys.argv[1:]  # optional: a few model names, for debugging (output not written)
    gen = Generator(session)
    started = time.time()
    for i, model in enumerate(only or models):
        gen.service(model)
        if (i + 1) % 50 == 0:
            print("  %d/%d services, %d records, %.0f s" % (i + 1, len(models), sum(gen.counts.values()),
                                                            time.time() - started), file=sys.stderr)
    if only:
        for m in only:
            for r in gen.records[m]:
                print(json.dumps(r))
        for (v, r), n in sorted(gen.skips.items()):
            print("skip %s %s: %d (%s)" % (v, r, n, gen.skip_examples[(v, r)]), file=sys.stderr)
        return
    gen.presigned()
    tv = table_version()
    if tv != botocore.__version__:
        print("gen-aws-corpus: note: src/aws/models.txt is from botocore %s, this is botocore %s"
              % (tv, botocore.__version__), file=sys.stderr)
    size = write_outputs(gen, models, botocore.__version__, tv)
    print("wrote %d records for %d models to %s (%.1f MiB gzipped) in %.0f s"
          % (sum(gen.counts.values()), len(gen.records), OUT.relative_to(REPO), size / (1 << 20),
             time.time() - started))
    for v, n in sorted(gen.counts.items()):
        print("  %-20s %6d" % (v, n))
    print("example records built with parameter validation off: %d" % gen.example_unvalidated)
    print("skipped %d:" % sum(gen.skips.values()))
    for (v, r), n in sorted(gen.skips.items(), key=lambda kv: (-kv[1], kv[0])):
        print("  %6d  %-12s %s (e.g. %s)" % (n, v, r, gen.skip_examples[(v, r)]))


if __name__ == "__main__":
    if os.environ.get("PYTHONHASHSEED") != "0":  # the User-Agent's feature list is a set: fix its order
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    main()
