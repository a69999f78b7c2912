#!/usr/bin/env python
"""Records the golden AWS request corpus under tests/corpus/aws/cases/.

    .venv/bin/python tests/corpus/aws/record.py

Every request is what boto3 / the AWS CLI really put on the wire: the clients run
with HTTPS_PROXY pointing at a local mitmdump (from .venv-bench, or $MITMDUMP)
whose addon (mitm_addon.py) records each request and answers it with a canned
response itself, so nothing leaves the machine. The expected facets come from
what was invoked (operation name from the `before-send.<service>.<Operation>`
event, parameters from `before-parameter-build`, signing region from
`before-sign`), never from parsing the recorded request. The clock and UUIDs are
fixed, so re-recording changes only machine-specific User-Agent parts.

`record.py --aws-cli ARGS...` is the shim record.py itself uses to run the real AWS
CLI (awscli.clidriver) with the same clock/uuid patches and event hooks.
"""

import base64
import contextlib
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
CASES = HERE / "cases"
MODELS = HERE / "models"  # the legacy SQS query model (botocore 1.29.165)
FIXED_NOW = datetime.datetime(2025, 1, 15, 12, 0, 0)
MAX_BODY = 64 * 1024

A1, A2 = "111111111111", "222222222222"
KEYS = {A1: "AKIA111111111111XXXX", A2: "AKIA222222222222XXXX"}
SECRET = "corpusSecretKey/DoNotUse/0000000000000000"

# IAM prefix where it differs from the signing name
IAM_PREFIX = {"cloudwatch": "cloudwatch", "ses": "ses", "sesv2": "ses", "dynamodbstreams": "dynamodb"}
S3_IAM = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "HeadObject": "GetObject",
    "CopyObject": "PutObject",
    "ListObjectVersions": "ListBucketVersions",
    "ListBuckets": "ListAllMyBuckets",
    # IAM's own names for the multipart and batch operations
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "UploadPartCopy": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListParts": "ListMultipartUploadParts",
    "ListMultipartUploads": "ListBucketMultipartUploads",
    "DeleteObjects": "DeleteObject",
}
# parameters whose ARN value is the request's resource, in order of preference
ARN_PARAMS = [
    "TopicArn", "TargetArn", "StreamArn", "FunctionName", "SecretId", "KeyId", "RoleArn",
    "PolicyArn", "ResourceArn", "ResourceARN", "Resource", "AlarmArn",
]
JSON_PROTOCOLS = ("json",)


# --------------------------------------------------------------------------------------
# determinism: fixed clock and uuids (applied in this process and in the CLI shim)
def patch_determinism():
    import botocore.auth

    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: (
        FIXED_NOW if remove_tzinfo else FIXED_NOW.replace(tzinfo=datetime.timezone.utc)
    )
    counter = [0]
    lock = threading.Lock()

    def uuid4():
        with lock:
            counter[0] += 1
            n = counter[0]
        return uuid.UUID(int=(0x0C0FFEE0 << 96) | n, version=4)

    uuid.uuid4 = uuid4


# --------------------------------------------------------------------------------------
# hooks that note, per API call, what was invoked
class Hooks:
    def __init__(self, sink):
        self.sink = sink  # callable(dict)
        self.local = threading.local()

    def register(self, emitter_owner):
        emitter_owner.register("before-parameter-build", self.on_params)
        emitter_owner.register("before-sign", self.on_sign)
        emitter_owner.register("before-send", self.on_send)

    def on_params(self, params, model, **kw):
        self.local.params = _jsonable(dict(params))

    def on_sign(self, request, region_name=None, signing_name=None, signature_version=None, **kw):
        ctx = request.context.get("signing", {}) or {}
        import botocore

        self.local.sign = {
            "region": ctx.get("region") or region_name,
            "signing_name": ctx.get("signing_name") or signing_name,
            "signature_version": None if signature_version is botocore.UNSIGNED else str(signature_version),
        }

    def on_send(self, request, event_name, **kw):
        _, svc, op = event_name.split(".", 2)
        self.sink({
            "event_service": svc,
            "operation": op,
            "method": request.method,
            "url": request.url,
            "params": getattr(self.local, "params", {}),
            "sign": getattr(self.local, "sign", {}),
        })
        self.local.params, self.local.sign = {}, {}
        return None


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (bytes, bytearray)):
        return {"__bytes__": len(v)}
    if isinstance(v, datetime.datetime):
        return {"__datetime__": v.isoformat()}
    return {"__object__": type(v).__name__}


def _simple(v):
    """JSON-protocol parameters whose wire form equals the Python value."""
    if isinstance(v, dict):
        return all(not k.startswith("__") and _simple(x) for k, x in v.items())
    if isinstance(v, list):
        return all(_simple(x) for x in v)
    return isinstance(v, (str, int, bool)) and not isinstance(v, float)


# --------------------------------------------------------------------------------------
# CLI shim mode
def cli_shim(argv):
    patch_determinism()
    from awscli.clidriver import create_clidriver

    ops_file = os.environ["CORPUS_OPS_FILE"]
    lock = threading.Lock()

    def sink(rec):
        with lock, open(ops_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")

    driver = create_clidriver()
    Hooks(sink).register(driver.session)
    return driver.main(argv)


# --------------------------------------------------------------------------------------
# the recording proxy
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Proxy:
    def __init__(self, work):
        self.work = Path(work)
        self.capture = self.work / "capture.jsonl"
        self.capture.touch()
        self.offset = 0
        self.port = free_port()
        mitmdump = os.environ.get("MITMDUMP") or str(REPO / ".venv-bench" / "bin" / "mitmdump")
        if not Path(mitmdump).exists():
            mitmdump = shutil.which("mitmdump")
        if not mitmdump:
            sys.exit("record.py needs mitmdump (mitmproxy): set $MITMDUMP or create .venv-bench")
        env = dict(os.environ, CORPUS_CAPTURE_FILE=str(self.capture))
        for k in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
            env.pop(k, None)
        self.log = open(self.work / "mitmdump.log", "w")
        self.proc = subprocess.Popen(
            [mitmdump, "-q", "--listen-host", "127.0.0.1", "-p", str(self.port),
             "--set", f"confdir={self.work / 'mitm'}", "--set", "connection_strategy=lazy",
             "-s", str(HERE / "mitm_addon.py")],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.ca = self.work / "mitm" / "mitmproxy-ca-cert.pem"
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit("mitmdump exited: " + (self.work / "mitmdump.log").read_text())
            if self.ca.exists():
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    break
                except OSError:
                    pass
            time.sleep(0.1)
        else:
            sys.exit("mitmdump did not start")

    def read_new(self):
        with open(self.capture, encoding="utf-8") as f:
            f.seek(self.offset)
            data = f.read()
            # only whole lines
            cut = data.rfind("\n") + 1
            self.offset += len(data[:cut].encode("utf-8"))
        return [json.loads(l) for l in data[:cut].splitlines() if l.strip()]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


# --------------------------------------------------------------------------------------
# expectations
def expected(client_name, model, send, account, resource=None, params_expect=True):
    op = send["operation"]
    params = send["params"] or {}
    sign = send["sign"] or {}
    unsigned = not sign.get("signature_version")
    exp = {"service": model.endpoint_prefix.lower(), "action": op}
    prefix = IAM_PREFIX.get(client_name) or model.signing_name
    iam_op = S3_IAM.get(op, op) if client_name == "s3" else op
    if client_name == "lambda" and op == "Invoke":
        iam_op = "InvokeFunction"
    if client_name == "apigateway":
        # IAM names API Gateway's control plane by HTTP method
        iam_op = send["method"].upper()
    exp["iam_action"] = f"{prefix}:{iam_op}"
    absent = []
    if not unsigned:
        exp["region"] = sign["region"]
        exp["account"] = account
    else:
        absent.append("account")
    if client_name == "s3":
        b, k = params.get("Bucket"), params.get("Key")
        if b is not None:
            exp["bucket"] = b
        else:
            absent.append("bucket")
        if k is not None:
            exp["key"] = k
        else:
            absent.append("key")
        if resource is None and b is not None and not b.startswith("arn:"):
            resource = f"arn:aws:s3:::{b}/{k}" if k is not None else f"arn:aws:s3:::{b}"
    elif client_name != "s3control":
        absent += ["bucket", "key"]
    if resource is None and client_name == "dynamodb" and isinstance(params.get("TableName"), str):
        t = params["TableName"]
        resource = t if t.startswith("arn:") else f"arn:aws:dynamodb:{sign['region']}:{account}:table/{t}"
    if resource is None and client_name != "s3":
        for name in ARN_PARAMS:
            v = params.get(name)
            if isinstance(v, str) and v.startswith("arn:"):
                resource = v
                break
    if resource and client_name == "lambda" and params.get("Qualifier") and resource.count(":") == 6:
        # IAM evaluates an invocation of a version or alias on the qualified ARN
        resource += ":" + params["Qualifier"]
    if resource:
        exp["resource"] = resource
    if params_expect and model.resolved_protocol in JSON_PROTOCOLS and client_name not in ("s3",):
        simple = {k: v for k, v in params.items() if _simple(v)}
        if simple:
            exp["params"] = simple
    return exp, absent


def request_json(wire):
    body = base64.b64decode(wire["body_b64"])
    truncated = len(body) > MAX_BODY
    if truncated:
        body = body[:MAX_BODY]
    req = {"method": wire["method"], "url": "https://" + wire["host"] + wire["path"], "headers": wire["headers"]}
    text = None
    try:
        text = body.decode("utf-8")
        if any(ord(c) < 32 and c not in "\r\n\t" for c in text):
            text = None
    except UnicodeDecodeError:
        text = None
    if text is not None:
        req["body"], req["body_base64"] = text, False
    else:
        req["body"], req["body_base64"] = base64.b64encode(body).decode(), True
    return req, truncated


# --------------------------------------------------------------------------------------
class Recorder:
    def __init__(self, proxy, work):
        import boto3
        import botocore

        self.proxy = proxy
        self.work = Path(work)
        self.cases = []
        self.sends = []
        self.hooks = Hooks(self.sends.append)
        self.clients = {}
        self.profiles = set()
        self.boto_source = f"boto3 {boto3.__version__}"
        self.botocore_version = botocore.__version__
        import awscli

        self.cli_source = f"aws-cli {awscli.__version__}"

    # ---- clients
    def client(self, name, region="us-east-1", account=A1, config=None, session=None, key=None):
        import boto3
        from botocore.config import Config

        ck = (name, region, account, repr(config), key)
        if ck in self.clients:
            return self.clients[ck]
        if session is None:
            session = boto3.Session(
                aws_access_key_id=KEYS[account], aws_secret_access_key=SECRET, region_name=region
            )
        cfg = Config(**(config or {}))
        c = session.client(name, region_name=region, config=cfg)
        self.hooks.register(c.meta.events)
        self.clients[ck] = c
        return c

    def _add(self, name, source, wire, exp, absent, client_name, op, variant):
        req, truncated = request_json(wire)
        if truncated:
            name += " (body truncated to 64 KiB)"
        case = {"name": name, "source": source, "request": req, "expect": exp}
        if absent:
            case["absent"] = absent
        self.cases.append((client_name, op, variant, case))

    def _pair(self, sends, wires):
        """pair invoked sends with captured wire requests by method + url."""
        pool = list(wires)
        out = []
        for s in sends:
            u = urlsplit(s["url"])
            target = (s["method"], u.netloc, u.path + ("?" + u.query if u.query else ""))
            for i, w in enumerate(pool):
                if (w["method"], w["host"], w["path"]) == target:
                    out.append((s, pool.pop(i)))
                    break
            else:
                raise RuntimeError(f"no wire request for {target}; have {[ (w['method'], w['host'], w['path']) for w in pool]}")
        if pool:
            raise RuntimeError(f"unpaired wire requests: {[(w['method'], w['host'], w['path']) for w in pool]}")
        return out

    # ---- one boto3 call
    def call(self, client_name, op, params=None, *, region="us-east-1", account=A1, config=None,
             variant="", desc="", session=None, session_key=None, source=None, resource=None,
             expect_over=None, params_expect=True, protocol_patch=None, model_session=None):
        from botocore import xform_name

        params = params or {}
        with (protocol_patch or contextlib.nullcontext)():
            c = self.client(client_name, region, account, config, session, session_key)
            del self.sends[:]
            try:
                getattr(c, xform_name(op))(**params)
            except Exception as e:  # canned responses often do not parse; the request is what we want
                err = repr(e)
                if "Could not connect" in err or "ProxyConnectionError" in err or "ParamValidation" in err:
                    raise
        wires = self.proxy.read_new()
        sends = list(self.sends)
        # exactly one attempt: the canned responses must never cause a retry
        if len(sends) != 1 or len(wires) != 1:
            raise RuntimeError(f"{client_name}.{op}: {len(sends)} sends / {len(wires)} wire requests")
        (send, wire), = self._pair(sends, wires)
        assert send["operation"] == op, (send["operation"], op)
        model = c.meta.service_model
        exp, absent = expected(client_name, model, send, account, resource, params_expect)
        if expect_over:
            for k, v in expect_over.items():
                if v is None:
                    exp.pop(k, None)
                else:
                    exp[k] = v
        self._check_scope(wire, exp)
        name = f"{client_name} {op}" + (f", {desc}" if desc else "") + f" ({region}, {account})"
        self._add(name, source or self.boto_source, wire, exp, absent, client_name, op, variant)

    def _check_scope(self, wire, exp):
        """sanity only: the signing region we noted must be the one in the credential scope."""
        auth = dict((k, v) for k, v in wire["headers"]).get("authorization", "")
        m = re.search(r"Credential=([A-Z0-9]+)/\d{8}/([^/]+)/([^/]+)/", auth) or re.search(
            r"X-Amz-Credential=([A-Z0-9]+)%2F\d{8}%2F([^%]+)%2F([^%]+)%2F", wire["path"])
        if m and "region" in exp:
            assert m.group(2) == exp["region"], (m.group(2), exp)
            assert m.group(1) == KEYS[exp["account"]], (m.group(1), exp)

    # ---- presigned URL, fetched through the proxy with urllib3
    def presigned(self, op, params, *, region, account, method="GET", body=None, desc="", variant=""):
        import urllib3

        c = self.client("s3", region, account, {"signature_version": "s3v4"}, key="presign")
        from botocore import xform_name

        url = c.generate_presigned_url(xform_name(op), Params=params, ExpiresIn=900,
                                       HttpMethod=method)
        pm = urllib3.ProxyManager(f"http://127.0.0.1:{self.proxy.port}", ca_certs=str(self.proxy.ca))
        pm.request(method, url, body=body, retries=False)
        (wire,) = self.proxy.read_new()
        assert "https://" + wire["host"] + wire["path"] == url, (url, wire["path"])
        send = {"operation": op, "params": params, "sign": {"region": region, "signature_version": "s3v4-query"}}
        exp, absent = expected("s3", c.meta.service_model, send, account)
        self._check_scope(wire, exp)
        name = f"s3 {op}, presigned URL (SigV4 query, no Authorization header){', ' + desc if desc else ''} ({region}, {account})"
        src = f"{self.boto_source} generate_presigned_url, fetched with urllib3 {urllib3.__version__}"
        self._add(name, src, wire, exp, absent, "s3", op, variant or "presigned")

    # ---- the AWS CLI (real awscli.clidriver in a subprocess)
    def cli(self, args, *, account=A1, region="us-east-1", desc="", variant="cli", profile_extra=None,
            cwd=None, expected_ops=None):
        import botocore.session

        ops_file = self.work / "cli-ops.jsonl"
        ops_file.write_text("")
        profile = f"p{account}-{region}" + ("-" + variant if profile_extra else "")
        cfg = self.work / "cli-config"
        creds = self.work / "cli-credentials"
        if profile not in self.profiles:
            self.profiles.add(profile)
            with open(cfg, "a") as f:
                f.write(f"[profile {profile}]\nregion = {region}\n" + (profile_extra or ""))
            with open(creds, "a") as f:
                f.write(f"[{profile}]\naws_access_key_id = {KEYS[account]}\naws_secret_access_key = {SECRET}\n")
        env = dict(os.environ, CORPUS_OPS_FILE=str(ops_file), AWS_CONFIG_FILE=str(cfg),
                   AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_PROFILE=profile, AWS_PAGER="")
        r = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--aws-cli"] + args,
                           env=env, cwd=cwd or self.work, capture_output=True, text=True, timeout=120)
        sends = [json.loads(l) for l in ops_file.read_text().splitlines() if l.strip()]
        wires = self.proxy.read_new()
        if not sends:
            raise RuntimeError(f"aws {' '.join(args)} sent nothing: rc={r.returncode} {r.stderr[-2000:]}")
        pairs = self._pair(sends, wires)
        ops = [s["operation"] for s, _ in pairs]
        if expected_ops is not None and ops != expected_ops:
            raise RuntimeError(f"aws {' '.join(args)}: ops {ops} != {expected_ops}; rc={r.returncode} {r.stderr[-1500:]}")
        bs = botocore.session.get_session()
        for s, w in pairs:
            cname = {"s3": "s3"}.get(s["event_service"], None) or _client_name_for_event(s["event_service"])
            model = bs.get_service_model(cname)
            exp, absent = expected(cname, model, s, account)
            self._check_scope(w, exp)
            name = f"{cname} {s['operation']} from `aws {' '.join(args)}`" + (f", {desc}" if desc else "") + f" ({region}, {account})"
            self._add(name, self.cli_source, w, exp, absent, cname, s["operation"], variant)
        return r


_EVENT_TO_CLIENT = None


def _client_name_for_event(event_service):
    """before-send.<service-id hyphenized>.Op -> client name"""
    global _EVENT_TO_CLIENT
    if _EVENT_TO_CLIENT is None:
        import botocore.session

        bs = botocore.session.get_session()
        _EVENT_TO_CLIENT = {}
        for n in bs.get_available_services():
            try:
                sid = bs.get_service_model(n).service_id.hyphenize()
            except Exception:
                continue
            _EVENT_TO_CLIENT.setdefault(sid, n)
    return _EVENT_TO_CLIENT[event_service]


@contextlib.contextmanager
def force_protocol(proto):
    """make botocore pick `proto` among the model's metadata.protocols."""
    import botocore.model

    old = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
    botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = (proto,) + tuple(p for p in old if p != proto)
    try:
        yield
    finally:
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = old


# --------------------------------------------------------------------------------------
# the corpus itself
def boto_session(account, region, **kw):
    import boto3

    return boto3.Session(aws_access_key_id=KEYS[account], aws_secret_access_key=SECRET,
                         region_name=region, **kw)


def sqs_query_session(account, region):
    """botocore 1.44 serializer + the SQS model as it was before SQS moved to JSON."""
    import boto3
    import botocore.session

    bs = botocore.session.get_session()
    bs.get_component("data_loader").search_paths.insert(0, str(MODELS))
    bs.set_credentials(KEYS[account], SECRET)
    return boto3.Session(botocore_session=bs, region_name=region)


def sts_legacy_session(account, region):
    import boto3
    import botocore.session

    bs = botocore.session.get_session()
    bs.set_config_variable("sts_regional_endpoints", "legacy")
    bs.set_credentials(KEYS[account], SECRET)
    return boto3.Session(botocore_session=bs, region_name=region)


POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                   "Action": "s3:GetObject", "Resource": "arn:aws:s3:::corpus-bucket/*"}],
})
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})
UPLOAD_ID = "UPLOAD-ID-1"


def s3_bucket_ops(src_bucket):
    return [
        ("HeadBucket", {}),
        ("ListObjectsV2", {"Prefix": "a/", "Delimiter": "/"}),
        ("ListObjects", {"Prefix": "a/"}),
        ("ListObjectVersions", {"Prefix": "a/"}),
        ("GetBucketLocation", {}),
        ("GetBucketAcl", {}),
        ("PutBucketAcl", {"ACL": "private"}),
        ("GetBucketTagging", {}),
        ("PutBucketTagging", {"Tagging": {"TagSet": [{"Key": "team", "Value": "infra"}]}}),
        ("DeleteBucketTagging", {}),
        ("GetBucketPolicy", {}),
        ("PutBucketPolicy", {"Policy": POLICY}),
        ("DeleteBucketPolicy", {}),
        ("GetBucketLifecycleConfiguration", {}),
        ("PutBucketLifecycleConfiguration", {"LifecycleConfiguration": {"Rules": [
            {"ID": "expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
             "Expiration": {"Days": 7}}]}}),
        ("DeleteBucketLifecycle", {}),
        ("GetBucketVersioning", {}),
        ("PutBucketVersioning", {"VersioningConfiguration": {"Status": "Enabled"}}),
        ("ListMultipartUploads", {}),
        ("DeleteObjects", {"Delete": {"Objects": [{"Key": "a/1.txt"}, {"Key": "a/2.txt"}]}}),
        ("DeleteBucket", {}),
    ]


def s3_key_ops(src_bucket):
    return [
        ("PutObject", {"Body": b"hello corpus\n"}),
        ("GetObject", {}),
        ("HeadObject", {}),
        ("DeleteObject", {}),
        ("GetObjectAcl", {}),
        ("PutObjectAcl", {"ACL": "private"}),
        ("GetObjectTagging", {}),
        ("PutObjectTagging", {"Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}),
        ("DeleteObjectTagging", {}),
        ("CopyObject", {"CopySource": {"Bucket": src_bucket, "Key": "src/obj.txt"}}),
        ("CreateMultipartUpload", {}),
        ("UploadPart", {"UploadId": UPLOAD_ID, "PartNumber": 1, "Body": b"part one"}),
        ("UploadPartCopy", {"UploadId": UPLOAD_ID, "PartNumber": 2,
                            "CopySource": f"{src_bucket}/src/obj.txt", "CopySourceRange": "bytes=0-99"}),
        ("ListParts", {"UploadId": UPLOAD_ID}),
        ("CompleteMultipartUpload", {"UploadId": UPLOAD_ID, "MultipartUpload": {
            "Parts": [{"ETag": '"etag-1"', "PartNumber": 1}]}}),
        ("AbortMultipartUpload", {"UploadId": UPLOAD_ID}),
        ("RestoreObject", {"RestoreRequest": {"Days": 1, "GlacierJobParameters": {"Tier": "Standard"}}}),
        ("SelectObjectContent", {"Expression": "select * from s3object s", "ExpressionType": "SQL",
                                 "InputSerialization": {"CSV": {}}, "OutputSerialization": {"CSV": {}}}),
    ]


def record_s3(rec):
    path = {"s3": {"addressing_style": "path"}}
    virt = {"s3": {"addressing_style": "virtual"}}
    # two full sets: default (virtual-host) in us-east-1, path style in us-west-2
    for cfg, style, region, account, bucket in [
        (None, "virtual-host style", "us-east-1", A1, "corpus-bucket"),
        (path, "path style", "us-west-2", A2, "corpus-bucket-west"),
    ]:
        v = "vhost" if cfg is None else "path"
        for op, p in s3_bucket_ops("source-bucket"):
            rec.call("s3", op, dict(p, Bucket=bucket), region=region, account=account, config=cfg,
                     variant=v, desc=style)
        for op, p in s3_key_ops("source-bucket"):
            rec.call("s3", op, dict(p, Bucket=bucket, Key="a/obj.txt"), region=region, account=account,
                     config=cfg, variant=v, desc=style)
    # ListBuckets and CreateBucket
    rec.call("s3", "ListBuckets", region="us-east-1", account=A1)
    rec.call("s3", "ListBuckets", region="eu-west-1", account=A2, config=path, variant="path", desc="path style")
    rec.call("s3", "ListBuckets", region="us-west-2", account=A1, variant="us-west-2")
    rec.call("s3", "CreateBucket", {"Bucket": "new-bucket-east"}, region="us-east-1", account=A1,
             desc="no LocationConstraint")
    rec.call("s3", "CreateBucket", {"Bucket": "new-bucket-eu", "CreateBucketConfiguration":
             {"LocationConstraint": "eu-west-1"}}, region="eu-west-1", account=A2, variant="eu",
             desc="LocationConstraint eu-west-1")
    rec.call("s3", "CreateBucket", {"Bucket": "new-bucket-west", "CreateBucketConfiguration":
             {"LocationConstraint": "us-west-2"}}, region="us-west-2", account=A1, config=path,
             variant="path", desc="path style, LocationConstraint us-west-2")
    # dotted bucket names: botocore's default picks path style for them over HTTPS
    dotted = "my.dotted.bucket"
    for op, p in [("GetObject", {"Key": "x/y.txt"}), ("PutObject", {"Key": "x/y.txt", "Body": b"dots\n"}),
                  ("ListObjectsV2", {"Prefix": "x/"}), ("HeadBucket", {})]:
        rec.call("s3", op, dict(p, Bucket=dotted), region="eu-west-1", account=A1, variant="dotted",
                 desc="dotted bucket name, default addressing (path)")
    for op, p in [("GetObject", {"Key": "x/y.txt"}), ("ListObjectsV2", {"Prefix": "x/"}),
                  ("DeleteObject", {"Key": "x/y.txt"})]:
        rec.call("s3", op, dict(p, Bucket=dotted), region="eu-west-1", account=A1, config=virt,
                 variant="dotted-vhost-requested",
                 desc="dotted bucket name, addressing_style=virtual requested (botocore still uses path style over HTTPS)")
    rec.call("s3", "GetObject", {"Bucket": "www.example.com", "Key": "index.html"}, region="us-east-1",
             account=A2, config=virt, variant="dotted-vhost-requested-east",
             desc="dotted bucket name, addressing_style=virtual requested (still path style), us-east-1")
    # awkward keys
    keys = ["my file.txt", "ünïcødé/ファイル.txt", "a+b=c~d.txt", "dir/sub dir/x?y#z&w.txt",
            "double//slash/", "~home/=eq+plus space", "100%.txt", "emoji-🎉.bin"]
    for i, k in enumerate(keys):
        rec.call("s3", "GetObject", {"Bucket": "corpus-bucket", "Key": k}, region="us-east-1", account=A1,
                 variant=f"key{i + 1}", desc=f"virtual-host style, key {k!r}")
    for i, k in enumerate(keys[:5]):
        rec.call("s3", "PutObject", {"Bucket": "corpus-bucket-eu", "Key": k, "Body": b"x"}, region="eu-west-1",
                 account=A2, config=path, variant=f"path-key{i + 1}", desc=f"path style, key {k!r}")
    rec.call("s3", "HeadObject", {"Bucket": "corpus-bucket-eu", "Key": keys[1]}, region="eu-west-1", account=A2,
             config=path, variant="path-unicode", desc=f"path style, key {keys[1]!r}")
    rec.call("s3", "CopyObject", {"Bucket": "corpus-bucket", "Key": "copy of ü+.txt",
             "CopySource": {"Bucket": "source.bucket", "Key": "orig ü+.txt", "VersionId": "v1"}},
             region="us-east-1", account=A1, variant="awkward", desc="awkward keys, versioned source")
    # query-parameter variants
    rec.call("s3", "GetObject", {"Bucket": "corpus-bucket", "Key": "a/obj.txt", "VersionId": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"},
             region="us-east-1", account=A1, variant="versionid", desc="?versionId=")
    rec.call("s3", "GetObject", {"Bucket": "corpus-bucket", "Key": "a/obj.txt", "Range": "bytes=0-9",
             "ResponseContentType": "text/plain"}, region="us-east-1", account=A1, variant="range",
             desc="Range header and response-content-type")
    rec.call("s3", "GetObject", {"Bucket": "corpus-bucket", "Key": "a/obj.txt", "PartNumber": 1},
             region="us-east-1", account=A1, variant="partnumber", desc="?partNumber=1 (still GetObject)")
    rec.call("s3", "PutObject", {"Bucket": "corpus-bucket", "Key": "a/sha.txt", "Body": b"sha256 me",
             "ChecksumAlgorithm": "SHA256"}, region="us-east-1", account=A1, variant="sha256",
             desc="ChecksumAlgorithm SHA256")
    rec.call("s3", "PutObject", {"Bucket": "corpus-bucket", "Key": "a/owner.txt", "Body": b"x",
             "ExpectedBucketOwner": A2}, region="us-east-1", account=A1, variant="expected-owner",
             desc="x-amz-expected-bucket-owner names another account (account comes from the key)")
    rec.call("s3", "DeleteObject", {"Bucket": "corpus-bucket", "Key": "a/obj.txt", "VersionId": "v2"},
             region="us-east-1", account=A1, variant="versionid", desc="?versionId=")
    rec.call("s3", "ListObjectsV2", {"Bucket": "corpus-bucket", "Prefix": "a b/ü", "StartAfter": "a b/ü/0",
             "MaxKeys": 10, "ContinuationToken": "tok+en="}, region="us-east-1", account=A1,
             variant="encoded", desc="encoded prefix, continuation token")
    # endpoint variants
    rec.call("s3", "GetObject", {"Bucket": "corpus-bucket", "Key": "a/obj.txt"}, region="us-east-1",
             account=A1, config={"s3": {"us_east_1_regional_endpoint": "regional"}}, variant="regional-east",
             desc="us-east-1 regional endpoint")
    rec.call("s3", "GetObject", {"Bucket": "corpus-bucket", "Key": "a/obj.txt"}, region="us-west-2",
             account=A2, config={"s3": {"use_accelerate_endpoint": True}}, variant="accelerate",
             desc="transfer acceleration endpoint")
    rec.call("s3", "PutObject", {"Bucket": "corpus-bucket", "Key": "a/obj.txt", "Body": b"dual"},
             region="us-west-2", account=A2, config={"s3": {"use_dualstack_endpoint": True}},
             variant="dualstack", desc="dual-stack endpoint")
    rec.call("s3", "GetObject", {"Bucket": "arn:aws:s3:us-west-2:111111111111:accesspoint/my-ap",
             "Key": "a/obj.txt"}, region="us-west-2", account=A1, variant="accesspoint",
             desc="Bucket given as an access point ARN (host my-ap-111111111111.s3-accesspoint...)",
             expect_over={"bucket": None, "key": None})
    # presigned URLs
    rec.presigned("GetObject", {"Bucket": "corpus-bucket", "Key": "reports/q1 2025.pdf"}, region="us-east-1",
                  account=A1, variant="presigned")
    rec.presigned("GetObject", {"Bucket": "corpus-bucket-eu", "Key": "a/obj.txt"}, region="eu-west-1",
                  account=A2, variant="presigned-eu")
    rec.presigned("PutObject", {"Bucket": "corpus-bucket", "Key": "uploads/new.txt"}, region="us-west-2",
                  account=A1, method="PUT", body=b"presigned upload\n", variant="presigned")


def record_dynamodb(rec):
    t = "corpus-table"
    item = {"pk": {"S": "user#1"}, "sk": {"S": "profile"}, "n": {"N": "42"}}
    key = {"pk": {"S": "user#1"}, "sk": {"S": "profile"}}
    calls = [
        ("PutItem", {"TableName": t, "Item": item}, "us-east-1", A1),
        ("GetItem", {"TableName": t, "Key": key, "ConsistentRead": True}, "us-east-1", A1),
        ("UpdateItem", {"TableName": t, "Key": key, "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}, "us-west-2", A2),
        ("DeleteItem", {"TableName": t, "Key": key}, "eu-west-1", A1),
        ("Query", {"TableName": t, "KeyConditionExpression": "pk = :pk",
                   "ExpressionAttributeValues": {":pk": {"S": "user#1"}}}, "us-east-1", A2),
        ("Scan", {"TableName": t, "Limit": 10}, "eu-west-1", A2),
        ("CreateTable", {"TableName": "new-table", "BillingMode": "PAY_PER_REQUEST",
                         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                         "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}, "us-west-2", A1),
        ("DescribeTable", {"TableName": t}, "us-east-1", A1),
        ("DeleteTable", {"TableName": "old-table"}, "us-east-1", A2),
        ("UpdateTimeToLive", {"TableName": t, "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "ttl"}},
         "eu-west-1", A1),
        ("DescribeTimeToLive", {"TableName": t}, "eu-west-1", A1),
        ("ListTables", {"Limit": 5}, "us-east-1", A1),
        ("BatchGetItem", {"RequestItems": {t: {"Keys": [key]}, "other-table": {"Keys": [key]}}}, "us-east-1", A1),
        ("BatchWriteItem", {"RequestItems": {t: [{"PutRequest": {"Item": item}}]}}, "us-west-2", A2),
        ("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": t, "Item": item}},
                                                  {"Delete": {"TableName": "other-table", "Key": key}}]},
         "us-east-1", A1),
        ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": t, "Key": key}}]}, "us-east-1", A2),
        ("ExecuteStatement", {"Statement": "SELECT * FROM \"corpus-table\" WHERE pk = 'user#1'"}, "us-east-1", A1),
        ("TagResource", {"ResourceArn": f"arn:aws:dynamodb:us-east-1:{A1}:table/{t}",
                         "Tags": [{"Key": "env", "Value": "prod"}]}, "us-east-1", A1),
        ("DescribeContinuousBackups", {"TableName": t}, "us-west-2", A1),
    ]
    for op, p, region, account in calls:
        rec.call("dynamodb", op, p, region=region, account=account)
    arn = f"arn:aws:dynamodb:us-west-2:{A2}:table/{t}"
    rec.call("dynamodb", "GetItem", {"TableName": arn, "Key": key}, region="us-west-2", account=A2,
             variant="table-arn", desc="TableName given as an ARN")
    # account-id based endpoints (<account>.ddb.<region>.amazonaws.com) when credentials carry an account id
    for op, p, region, account in [("GetItem", {"TableName": t, "Key": key}, "us-east-1", A1),
                                   ("PutItem", {"TableName": t, "Item": item}, "eu-west-1", A2)]:
        sess = boto_session(account, region, aws_account_id=account)
        rec.call("dynamodb", op, p, region=region, account=account, session=sess, session_key="acctid",
                 variant="account-endpoint", desc="account-id based endpoint")


def record_query_services(rec):
    # EC2 (ec2 protocol)
    for op, p, region, account in [
        ("DescribeInstances", {"InstanceIds": ["i-0123456789abcdef0"]}, "us-east-1", A1),
        ("DescribeInstances", {"Filters": [{"Name": "tag:env", "Values": ["prod", "stage"]}]}, "eu-west-1", A2),
        ("RunInstances", {"ImageId": "ami-12345678", "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1},
         "us-west-2", A2),
        ("TerminateInstances", {"InstanceIds": ["i-0123456789abcdef0", "i-0fedcba9876543210"]}, "us-east-1", A1),
        ("StopInstances", {"InstanceIds": ["i-0123456789abcdef0"]}, "eu-west-1", A1),
        ("StartInstances", {"InstanceIds": ["i-0123456789abcdef0"]}, "eu-west-1", A1),
        ("DescribeVpcs", {}, "us-west-2", A1),
        ("CreateTags", {"Resources": ["i-0123456789abcdef0"], "Tags": [{"Key": "owner", "Value": "agent"}]},
         "us-east-1", A2),
        ("DescribeSecurityGroups", {"GroupIds": ["sg-0123456789abcdef0"]}, "us-east-1", A1),
        ("AuthorizeSecurityGroupIngress", {"GroupId": "sg-0123456789abcdef0", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]},
         "us-west-2", A2),
        ("DescribeRegions", {}, "us-east-1", A1),
        ("DescribeImages", {"Owners": ["self"]}, "eu-west-1", A2),
        ("CreateSnapshot", {"VolumeId": "vol-0123456789abcdef0", "Description": "nightly"}, "us-east-1", A1),
    ]:
        rec.call("ec2", op, p, region=region, account=account, variant="" if op != "DescribeInstances" or region == "us-east-1" else "filters")
    # IAM (query, global: iam.amazonaws.com signs us-east-1 whatever the client region)
    role_arn = f"arn:aws:iam::{A1}:role/corpus-role"
    for op, p, region, account, extra in [
        ("ListUsers", {}, "us-east-1", A1, {}),
        ("GetUser", {"UserName": "alice"}, "eu-west-1", A2, {}),
        ("CreateUser", {"UserName": "bob", "Tags": [{"Key": "team", "Value": "x"}]}, "us-east-1", A1, {}),
        ("DeleteUser", {"UserName": "bob"}, "us-west-2", A1, {}),
        ("CreateRole", {"RoleName": "corpus-role", "AssumeRolePolicyDocument": TRUST}, "us-east-1", A1, {}),
        ("GetRole", {"RoleName": "corpus-role"}, "us-east-1", A2, {}),
        ("AttachRolePolicy", {"RoleName": "corpus-role", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
         "us-east-1", A1, {"resource": False}),
        ("PutRolePolicy", {"RoleName": "corpus-role", "PolicyName": "inline", "PolicyDocument": POLICY},
         "us-east-1", A1, {}),
        ("CreateAccessKey", {"UserName": "alice"}, "eu-west-1", A1, {}),
        ("ListPolicies", {"Scope": "Local"}, "us-east-1", A2, {}),
        ("GetPolicy", {"PolicyArn": f"arn:aws:iam::{A2}:policy/corpus-policy"}, "us-east-1", A2, {}),
        ("ListAttachedRolePolicies", {"RoleName": "corpus-role"}, "us-east-1", A1, {}),
    ]:
        rec.call("iam", op, p, region=region, account=account,
                 resource=None if extra.get("resource", True) else "", variant="" if region == "us-east-1" else region,
                 desc="global endpoint" if region != "us-east-1" else "")
    # STS
    rec.call("sts", "GetCallerIdentity", region="us-east-1", account=A1)
    rec.call("sts", "GetCallerIdentity", region="eu-west-1", account=A2, variant="eu")
    rec.call("sts", "GetCallerIdentity", region="us-west-2", account=A1, variant="west")
    rec.call("sts", "GetCallerIdentity", region="eu-west-1", account=A2, session=sts_legacy_session(A2, "eu-west-1"),
             session_key="legacy", variant="global", desc="sts_regional_endpoints=legacy (sts.amazonaws.com)")
    rec.call("sts", "AssumeRole", {"RoleArn": f"arn:aws:iam::{A2}:role/clawgate-agent", "RoleSessionName": "corpus",
             "DurationSeconds": 900}, region="us-east-1", account=A1, desc="into another account")
    rec.call("sts", "GetSessionToken", {"DurationSeconds": 3600}, region="us-west-2", account=A2)
    rec.call("sts", "GetAccessKeyInfo", {"AccessKeyId": "AKIA222222222222XXXX"}, region="us-east-1", account=A1)
    rec.call("sts", "DecodeAuthorizationMessage", {"EncodedMessage": "abc123"}, region="eu-west-1", account=A1)
    rec.call("sts", "AssumeRoleWithWebIdentity", {"RoleArn": f"arn:aws:iam::{A1}:role/web", "RoleSessionName": "web",
             "WebIdentityToken": "eyJhbGciOiJub25lIn0.e30."}, region="us-east-1", account=A1,
             desc="unsigned: no credential, so no account")
    # SNS (query)
    topic = f"arn:aws:sns:us-east-1:{A1}:corpus-topic"
    for op, p, region, account in [
        ("CreateTopic", {"Name": "corpus-topic"}, "us-east-1", A1),
        ("ListTopics", {}, "eu-west-1", A2),
        ("Publish", {"TopicArn": topic, "Message": "hello", "Subject": "s"}, "us-east-1", A1),
        ("Publish", {"TargetArn": f"arn:aws:sns:us-west-2:{A2}:endpoint/APNS/app/1234", "Message": "m"}, "us-west-2", A2),
        ("Subscribe", {"TopicArn": topic, "Protocol": "sqs",
                       "Endpoint": f"arn:aws:sqs:us-east-1:{A1}:corpus-queue"}, "us-east-1", A1),
        ("SetTopicAttributes", {"TopicArn": topic, "AttributeName": "DisplayName", "AttributeValue": "x"}, "us-east-1", A1),
        ("ListSubscriptionsByTopic", {"TopicArn": topic}, "us-east-1", A1),
        ("DeleteTopic", {"TopicArn": topic}, "us-east-1", A1),
    ]:
        rec.call("sns", op, p, region=region, account=account, variant="target" if "TargetArn" in p else "")
    # SES v1 (query, host email.<region>, signing name ses)
    for op, p, region, account in [
        ("SendEmail", {"Source": "a@example.com", "Destination": {"ToAddresses": ["b@example.com"]},
                       "Message": {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hello"}}}}, "us-east-1", A1),
        ("SendRawEmail", {"RawMessage": {"Data": b"From: a@example.com\r\nTo: b@example.com\r\n\r\nhi"}}, "eu-west-1", A2),
        ("ListIdentities", {}, "us-west-2", A1),
        ("VerifyEmailIdentity", {"EmailAddress": "c@example.com"}, "us-east-1", A2),
        ("GetSendQuota", {}, "eu-west-1", A1),
    ]:
        rec.call("ses", op, p, region=region, account=account)


def record_json_services(rec):
    # SQS: what botocore 1.44 sends (JSON 1.0 + X-Amz-Target + x-amzn-query-mode)
    q1 = f"https://sqs.us-east-1.amazonaws.com/{A1}/corpus-queue"
    q2 = f"https://sqs.eu-west-1.amazonaws.com/{A2}/corpus-queue.fifo"
    sqs_calls = [
        ("CreateQueue", {"QueueName": "corpus-queue", "Attributes": {"VisibilityTimeout": "30"}}, "us-east-1", A1),
        ("ListQueues", {"QueueNamePrefix": "corpus"}, "us-west-2", A2),
        ("GetQueueUrl", {"QueueName": "corpus-queue"}, "us-east-1", A1),
        ("SendMessage", {"QueueUrl": q1, "MessageBody": "hello", "MessageAttributes": {
            "a": {"DataType": "String", "StringValue": "b"}}}, "us-east-1", A1),
        ("SendMessageBatch", {"QueueUrl": q2, "Entries": [{"Id": "1", "MessageBody": "x", "MessageGroupId": "g"}]},
         "eu-west-1", A2),
        ("ReceiveMessage", {"QueueUrl": q1, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
                            "MessageAttributeNames": ["All"]}, "us-east-1", A1),
        ("DeleteMessage", {"QueueUrl": q1, "ReceiptHandle": "AQEB+handle=="}, "us-east-1", A1),
        ("ChangeMessageVisibility", {"QueueUrl": q1, "ReceiptHandle": "AQEB+handle==", "VisibilityTimeout": 60},
         "us-east-1", A1),
        ("GetQueueAttributes", {"QueueUrl": q2, "AttributeNames": ["All"]}, "eu-west-1", A2),
        ("SetQueueAttributes", {"QueueUrl": q2, "Attributes": {"DelaySeconds": "5"}}, "eu-west-1", A2),
        ("PurgeQueue", {"QueueUrl": q1}, "us-east-1", A1),
        ("DeleteQueue", {"QueueUrl": q2}, "eu-west-1", A2),
    ]
    for op, p, region, account in sqs_calls:
        rec.call("sqs", op, p, region=region, account=account, variant="json", desc="JSON protocol")
    # SQS query form: the same botocore serializer fed the pre-2023 query model of SQS
    src = f"{rec.boto_source} with the SQS query model of botocore 1.29.165 (tests/corpus/aws/models)"
    for op, p, region, account in [sqs_calls[i] for i in (0, 1, 3, 5, 6, 8, 10, 11)]:
        rec.call("sqs", op, p, region=region, account=account, session=sqs_query_session(account, region),
                 session_key="query", variant="query", desc="query protocol (legacy SDKs)", source=src)
    # KMS
    key_arn = f"arn:aws:kms:us-east-1:{A1}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    for op, p, region, account in [
        ("Encrypt", {"KeyId": "alias/corpus", "Plaintext": b"secret"}, "us-east-1", A1),
        ("Decrypt", {"CiphertextBlob": b"\x01\x02\x03blob"}, "us-east-1", A1),
        ("GenerateDataKey", {"KeyId": key_arn, "KeySpec": "AES_256"}, "us-east-1", A1),
        ("CreateKey", {"Description": "corpus key", "KeyUsage": "ENCRYPT_DECRYPT"}, "eu-west-1", A2),
        ("DescribeKey", {"KeyId": key_arn}, "us-east-1", A1),
        ("ListKeys", {"Limit": 10}, "us-west-2", A2),
        ("ListAliases", {}, "us-west-2", A1),
        ("Sign", {"KeyId": "alias/signing", "Message": b"msg", "SigningAlgorithm": "ECDSA_SHA_256"}, "eu-west-1", A1),
        ("ScheduleKeyDeletion", {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "PendingWindowInDays": 7},
         "us-east-1", A2),
    ]:
        rec.call("kms", op, p, region=region, account=account)
    # Secrets Manager
    sec_arn = f"arn:aws:secretsmanager:us-west-2:{A2}:secret:prod/db-AbCdEf"
    for op, p, region, account, v in [
        ("GetSecretValue", {"SecretId": "prod/db"}, "us-east-1", A1, ""),
        ("GetSecretValue", {"SecretId": sec_arn, "VersionStage": "AWSCURRENT"}, "us-west-2", A2, "arn"),
        ("CreateSecret", {"Name": "prod/api-key", "SecretString": "s3cr3t"}, "us-east-1", A1, ""),
        ("PutSecretValue", {"SecretId": "prod/api-key", "SecretString": "n3w"}, "eu-west-1", A1, ""),
        ("UpdateSecret", {"SecretId": sec_arn, "Description": "db"}, "us-west-2", A2, ""),
        ("DescribeSecret", {"SecretId": "prod/db"}, "eu-west-1", A2, ""),
        ("ListSecrets", {"MaxResults": 10}, "us-east-1", A1, ""),
        ("DeleteSecret", {"SecretId": "prod/old", "ForceDeleteWithoutRecovery": True}, "us-east-1", A2, ""),
        ("RotateSecret", {"SecretId": sec_arn}, "us-west-2", A2, ""),
        ("BatchGetSecretValue", {"SecretIdList": ["prod/db", sec_arn]}, "us-west-2", A2, ""),
    ]:
        rec.call("secretsmanager", op, p, region=region, account=account, variant=v)
    # SSM
    for op, p, region, account, v in [
        ("GetParameter", {"Name": "/app/db/host"}, "us-east-1", A1, ""),
        ("GetParameter", {"Name": "/app/db/password", "WithDecryption": True}, "us-east-1", A1, "decrypt"),
        ("GetParameter", {"Name": "/app/db/password", "WithDecryption": False}, "eu-west-1", A2, "no-decrypt"),
        ("GetParameters", {"Names": ["/app/a", "/app/b"], "WithDecryption": True}, "us-west-2", A2, ""),
        ("GetParametersByPath", {"Path": "/app/", "Recursive": True, "WithDecryption": True}, "us-east-1", A1, ""),
        ("PutParameter", {"Name": "/app/token", "Value": "t0k", "Type": "SecureString", "Overwrite": True},
         "eu-west-1", A1, ""),
        ("DeleteParameter", {"Name": "/app/token"}, "eu-west-1", A1, ""),
        ("GetParameterHistory", {"Name": "/app/db/password", "WithDecryption": True}, "us-east-1", A2, ""),
        ("SendCommand", {"InstanceIds": ["i-0123456789abcdef0"], "DocumentName": "AWS-RunShellScript",
                         "Parameters": {"commands": ["uptime"]}}, "us-west-2", A1, ""),
        ("DescribeInstanceInformation", {}, "us-east-1", A1, ""),
        ("StartSession", {"Target": "i-0123456789abcdef0"}, "us-east-1", A2, ""),
    ]:
        rec.call("ssm", op, p, region=region, account=account, variant=v)
    # DynamoDB Streams (host streams.dynamodb.<region>, signing name dynamodb)
    stream = f"arn:aws:dynamodb:us-east-1:{A1}:table/corpus-table/stream/2025-01-01T00:00:00.000"
    for op, p, region, account in [
        ("ListStreams", {"TableName": "corpus-table"}, "us-east-1", A1),
        ("DescribeStream", {"StreamArn": stream}, "us-east-1", A1),
        ("GetShardIterator", {"StreamArn": stream, "ShardId": "shardId-00000001579868407700-d1a3e2a0", "ShardIteratorType": "TRIM_HORIZON"},
         "us-east-1", A1),
        ("GetRecords", {"ShardIterator": "arn:aws:dynamodb:us-east-1:111111111111:table/corpus-table/stream/"
                                         "2025-01-01T00:00:00.000|1|AAAAAA"}, "us-east-1", A1),
    ]:
        rec.call("dynamodbstreams", op, p, region=region, account=account,
                 resource=("" if op in ("ListStreams", "GetRecords") else None))


def record_cloudwatch(rec):
    when = datetime.datetime(2025, 1, 15, 11, 0, 0, tzinfo=datetime.timezone.utc)
    later = datetime.datetime(2025, 1, 15, 12, 0, 0, tzinfo=datetime.timezone.utc)
    calls = [
        ("PutMetricData", {"Namespace": "Corpus", "MetricData": [{"MetricName": "Hits", "Value": 1.0, "Unit": "Count",
                           "Dimensions": [{"Name": "Env", "Value": "prod"}]}]}, "us-east-1", A1),
        ("ListMetrics", {"Namespace": "AWS/EC2"}, "us-west-2", A2),
        ("DescribeAlarms", {"AlarmNamePrefix": "corpus"}, "eu-west-1", A1),
        ("GetMetricStatistics", {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "StartTime": when,
                                 "EndTime": later, "Period": 300, "Statistics": ["Average"]}, "us-east-1", A2),
        ("PutMetricAlarm", {"AlarmName": "corpus-high-cpu", "MetricName": "CPUUtilization", "Namespace": "AWS/EC2",
                            "Statistic": "Average", "Period": 300, "EvaluationPeriods": 1, "Threshold": 90.0,
                            "ComparisonOperator": "GreaterThanThreshold"}, "us-west-2", A1),
        ("GetMetricData", {"MetricDataQueries": [{"Id": "m1", "MetricStat": {"Metric": {
            "Namespace": "AWS/EC2", "MetricName": "CPUUtilization"}, "Period": 60, "Stat": "Average"}}],
            "StartTime": when, "EndTime": later}, "us-east-1", A1),
        ("DeleteAlarms", {"AlarmNames": ["corpus-high-cpu"]}, "us-west-2", A1),
        ("TagResource", {"ResourceARN": f"arn:aws:cloudwatch:us-east-1:{A1}:alarm:corpus-high-cpu",
                         "Tags": [{"Key": "team", "Value": "infra"}]}, "us-east-1", A1),
    ]
    for op, p, region, account in calls:
        rec.call("cloudwatch", op, p, region=region, account=account, variant="json",
                 desc="JSON protocol (botocore default)")
    for op, p, region, account in [calls[i] for i in (0, 1, 2, 3, 4)]:
        rec.call("cloudwatch", op, p, region=region, account=account, variant="query",
                 desc="query protocol (older SDKs)", protocol_patch=lambda: force_protocol("query"),
                 session_key="query", source=f"{rec.boto_source} (protocol forced to query)")
    for op, p, region, account in [calls[i] for i in (0, 1, 2)]:
        rec.call("cloudwatch", op, p, region=region, account=account, variant="cbor",
                 desc="smithy-rpc-v2-cbor protocol", protocol_patch=lambda: force_protocol("smithy-rpc-v2-cbor"),
                 session_key="cbor", source=f"{rec.boto_source} (protocol forced to smithy-rpc-v2-cbor)")


def record_rest_json(rec):
    fn_arn = f"arn:aws:lambda:us-west-2:{A2}:function:corpus-fn"
    for op, p, region, account, v in [
        ("ListFunctions", {"MaxItems": 10}, "us-east-1", A1, ""),
        ("GetFunction", {"FunctionName": "corpus-fn"}, "us-east-1", A1, ""),
        ("GetFunction", {"FunctionName": fn_arn}, "us-west-2", A2, "arn"),
        ("Invoke", {"FunctionName": "corpus-fn", "Payload": b'{"hello": "world"}'}, "us-east-1", A1, ""),
        ("Invoke", {"FunctionName": fn_arn, "Qualifier": "prod", "Payload": b"{}"}, "us-west-2", A2, "arn"),
        ("Invoke", {"FunctionName": "corpus-fn", "InvocationType": "Event", "Payload": b"{}"}, "eu-west-1", A1, "event"),
        ("CreateFunction", {"FunctionName": "new-fn", "Runtime": "python3.12",
                            "Role": f"arn:aws:iam::{A1}:role/corpus-role", "Handler": "app.handler",
                            "Code": {"ZipFile": b"PK\x03\x04 not really a zip"}}, "us-east-1", A1, ""),
        ("UpdateFunctionCode", {"FunctionName": "corpus-fn", "S3Bucket": "code-bucket", "S3Key": "fn.zip"},
         "eu-west-1", A2, ""),
        ("DeleteFunction", {"FunctionName": fn_arn}, "us-west-2", A2, "arn"),
        ("AddPermission", {"FunctionName": "corpus-fn", "StatementId": "s3", "Action": "lambda:InvokeFunction",
                           "Principal": "s3.amazonaws.com"}, "us-east-1", A1, ""),
        ("ListTags", {"Resource": fn_arn}, "us-west-2", A2, ""),
        ("GetFunctionConfiguration", {"FunctionName": "corpus-fn:prod"}, "us-east-1", A1, "alias"),
    ]:
        rec.call("lambda", op, p, region=region, account=account, variant=v)
    # API Gateway control plane (rest-json)
    for op, p, region, account in [
        ("GetRestApis", {"limit": 25}, "us-east-1", A1),
        ("GetRestApi", {"restApiId": "a1b2c3d4e5"}, "us-east-1", A1),
        ("CreateRestApi", {"name": "corpus-api", "description": "d"}, "eu-west-1", A2),
        ("GetResources", {"restApiId": "a1b2c3d4e5", "embed": ["methods"]}, "us-east-1", A1),
        ("PutMethod", {"restApiId": "a1b2c3d4e5", "resourceId": "r1", "httpMethod": "GET",
                       "authorizationType": "NONE"}, "us-west-2", A2),
        ("CreateDeployment", {"restApiId": "a1b2c3d4e5", "stageName": "prod"}, "us-east-1", A1),
        ("GetStages", {"restApiId": "a1b2c3d4e5"}, "eu-west-1", A2),
        ("DeleteRestApi", {"restApiId": "a1b2c3d4e5"}, "us-west-2", A1),
    ]:
        rec.call("apigateway", op, p, region=region, account=account)
    # SES v2 (rest-json, host email.<region>, signing name ses)
    for op, p, region, account in [
        ("SendEmail", {"FromEmailAddress": "a@example.com", "Destination": {"ToAddresses": ["b@example.com"]},
                       "Content": {"Simple": {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "x"}}}}},
         "us-east-1", A1),
        ("ListEmailIdentities", {}, "eu-west-1", A2),
        ("CreateEmailIdentity", {"EmailIdentity": "example.com"}, "us-west-2", A1),
        ("GetAccount", {}, "us-east-1", A2),
        ("DeleteEmailIdentity", {"EmailIdentity": "old@example.com"}, "eu-west-1", A1),
    ]:
        rec.call("sesv2", op, p, region=region, account=account)
    # S3 Control (rest-xml, host <account>.s3-control.<region>, signing name s3)
    for op, p, region, account, v in [
        ("ListAccessPoints", {"AccountId": A1}, "us-east-1", A1, ""),
        ("GetPublicAccessBlock", {"AccountId": A2}, "eu-west-1", A2, ""),
        ("CreateAccessPoint", {"AccountId": A1, "Name": "my-ap", "Bucket": "corpus-bucket"}, "us-west-2", A1, ""),
        ("GetAccessPoint", {"AccountId": A1, "Name": "my-ap"}, "us-west-2", A1, ""),
        ("ListAccessPoints", {"AccountId": A2}, "us-east-1", A1, "other-account"),
    ]:
        rec.call("s3control", op, p, region=region, account=account, variant=v,
                 desc="AccountId parameter names another account than the key" if v else "")


def record_cli(rec, work):
    # relative names: the CLI runs in the work directory, and case names stay stable
    small, big, dl = "small.txt", "multipart.bin", "downloaded.txt"
    (Path(work) / small).write_bytes(b"hello from the aws cli\n")
    (Path(work) / big).write_bytes(bytes(range(256)) * 80)  # 20 KiB, above the 5KB threshold set below
    rec.cli(["s3", "ls"], account=A1, region="us-east-1", expected_ops=["ListBuckets"])
    rec.cli(["s3", "ls", "s3://corpus-bucket"], account=A1, region="us-east-1", expected_ops=["ListObjectsV2"])
    rec.cli(["s3", "ls", "s3://corpus-bucket-west/logs/2025/", "--recursive"], account=A2, region="us-west-2",
            expected_ops=["ListObjectsV2"])
    rec.cli(["s3", "cp", small, "s3://corpus-bucket/uploads/small file.txt"], account=A1, region="us-east-1",
            expected_ops=["PutObject"])
    rec.cli(["s3", "cp", small, "s3://corpus-bucket-eu/ü/small.txt"], account=A2, region="eu-west-1",
            expected_ops=["PutObject"])
    rec.cli(["s3", "cp", "s3://corpus-bucket/uploads/small file.txt", dl], account=A1, region="us-east-1",
            expected_ops=["HeadObject", "GetObject"])
    rec.cli(["s3", "cp", big, "s3://corpus-bucket/big/multipart.bin"], account=A1, region="us-west-2",
            variant="cli-multipart", profile_extra="s3 =\n  multipart_threshold = 5KB\n",
            desc="multipart (threshold 5KB)",
            expected_ops=["CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"])
    rec.cli(["s3", "cp", "s3://source-bucket/src/obj.txt", "s3://corpus-bucket/dst/obj.txt"], account=A2,
            region="us-east-1", expected_ops=["HeadObject", "CopyObject"])
    rec.cli(["s3", "mb", "s3://new-cli-bucket"], account=A1, region="us-east-1", expected_ops=["CreateBucket"])
    rec.cli(["s3", "mb", "s3://new-cli-bucket-eu", "--region", "eu-west-1"], account=A2, region="us-east-1",
            desc="--region eu-west-1", expected_ops=["CreateBucket"])
    rec.cli(["s3", "rm", "s3://corpus-bucket/uploads/small file.txt"], account=A1, region="us-east-1",
            expected_ops=["DeleteObject"])
    rec.cli(["s3", "rb", "s3://new-cli-bucket"], account=A1, region="us-east-1", expected_ops=["DeleteBucket"])
    rec.cli(["s3api", "get-object-tagging", "--bucket", "my.dotted.bucket", "--key", "a b+c.txt"], account=A2,
            region="eu-west-1", expected_ops=["GetObjectTagging"])
    rec.cli(["s3api", "list-objects", "--bucket", "corpus-bucket", "--prefix", "a/", "--max-items", "5"],
            account=A1, region="us-east-1", expected_ops=["ListObjects"])
    rec.cli(["sts", "get-caller-identity"], account=A1, region="us-east-1", expected_ops=["GetCallerIdentity"])
    rec.cli(["sts", "get-caller-identity"], account=A2, region="eu-west-1", expected_ops=["GetCallerIdentity"])
    rec.cli(["dynamodb", "put-item", "--table-name", "corpus-table", "--item",
             '{"pk": {"S": "cli#1"}, "n": {"N": "7"}}'], account=A1, region="us-east-1", expected_ops=["PutItem"])
    rec.cli(["dynamodb", "get-item", "--table-name", "corpus-table", "--key", '{"pk": {"S": "cli#1"}}'],
            account=A2, region="us-west-2", expected_ops=["GetItem"])
    rec.cli(["ec2", "describe-instances", "--instance-ids", "i-0123456789abcdef0"], account=A1, region="eu-west-1",
            expected_ops=["DescribeInstances"])
    rec.cli(["iam", "get-user", "--user-name", "alice"], account=A2, region="us-east-1", expected_ops=["GetUser"])
    rec.cli(["sqs", "send-message", "--queue-url", f"https://sqs.us-east-1.amazonaws.com/{A1}/corpus-queue",
             "--message-body", "from cli"], account=A1, region="us-east-1", expected_ops=["SendMessage"])
    rec.cli(["sqs", "receive-message", "--queue-url", f"https://sqs.eu-west-1.amazonaws.com/{A2}/corpus-queue",
             "--max-number-of-messages", "5"], account=A2, region="eu-west-1", expected_ops=["ReceiveMessage"],
            desc="the CLI's legacy SQS host <region>.queue.amazonaws.com")
    rec.cli(["s3", "ls"], account=A2, region="eu-west-1", expected_ops=["ListBuckets"])
    rec.cli(["ssm", "get-parameter", "--name", "/app/db/password", "--with-decryption"], account=A1,
            region="us-west-2", expected_ops=["GetParameter"])
    rec.cli(["secretsmanager", "get-secret-value", "--secret-id",
             f"arn:aws:secretsmanager:us-east-1:{A1}:secret:prod/db-AbCdEf"], account=A1, region="us-east-1",
            expected_ops=["GetSecretValue"])
    rec.cli(["cloudwatch", "put-metric-data", "--namespace", "Corpus", "--metric-name", "Hits", "--value", "1"],
            account=A2, region="eu-west-1", expected_ops=["PutMetricData"])
    rec.cli(["lambda", "invoke", "--function-name", "corpus-fn", "out.json"], account=A1,
            region="us-east-1", expected_ops=["Invoke"])
    rec.cli(["sns", "publish", "--topic-arn", f"arn:aws:sns:us-east-1:{A1}:corpus-topic", "--message", "hi"],
            account=A1, region="us-east-1", expected_ops=["Publish"])
    rec.cli(["kms", "describe-key", "--key-id", "alias/corpus"], account=A2, region="us-west-2",
            expected_ops=["DescribeKey"])


def record_all(rec):
    record_s3(rec)
    record_dynamodb(rec)
    record_query_services(rec)
    record_json_services(rec)
    record_cloudwatch(rec)
    record_rest_json(rec)
    record_cli(rec, rec.work)
    return attack_cases(rec)


# --------------------------------------------------------------------------------------
# hand-written attacks: recorded requests, then tampered with
ATTACK_SOURCE = "hand-written attack"


def _find(rec, client, op, pred=None):
    import copy

    for c, o, v, case in rec.cases:
        if c == client and o == op and (pred is None or pred(case)):
            return copy.deepcopy(case)
    raise LookupError(f"no recorded {client} {op} to base an attack on")


def _set_header(req, name, value, add=False):
    hs = req["headers"]
    if not add:
        for h in hs:
            if h[0] == name:
                h[1] = value
                return
    # insert before authorization-ish tail: keep it simple, append
    hs.append([name, value])


def _set_body(req, body):
    req["body"], req["body_base64"] = body, False
    _set_header(req, "content-length", str(len(body.encode())))


def _rescope(req, old, new):
    for h in req["headers"]:
        if h[0] == "authorization":
            assert old in h[1], (old, h[1])
            h[1] = h[1].replace(old, new)


def attack_cases(rec):
    out = []

    def add(client, op, variant, name, req, deny):
        out.append((client, op, variant, {"name": "ATTACK: " + name, "source": ATTACK_SOURCE, "request": req,
                                          "expect": {}, "deny": deny}))

    in_east = lambda c: "(us-east-1," in c["name"]
    # 1. X-Amz-Target header says DescribeInstances, the query-protocol body says TerminateInstances
    c = _find(rec, "ec2", "DescribeInstances", in_east)
    r = c["request"]
    _set_header(r, "x-amz-target", "x.DescribeInstances", add=True)
    _set_body(r, "Action=TerminateInstances&Version=2016-11-15")
    add("ec2", "TerminateInstances", "attack-target-vs-action",
        "EC2 POST whose X-Amz-Target names DescribeInstances while the form body's Action is "
        "TerminateInstances (operation smuggling: must never look like DescribeInstances)", r, "conflict")
    # 2. the same form field twice with two operations
    c = _find(rec, "ec2", "DescribeInstances", in_east)
    r = c["request"]
    _set_body(r, "Action=DescribeInstances&Version=2016-11-15&Action=TerminateInstances&InstanceId.1=i-0123456789abcdef0")
    add("ec2", "TerminateInstances", "attack-duplicate-action",
        "EC2 form body carrying Action twice (DescribeInstances, then TerminateInstances)", r, "conflict")
    # 3. host is DynamoDB, the credential scope signs for s3
    c = _find(rec, "dynamodb", "GetItem", lambda c: "dynamodb.us-east-1.amazonaws.com" in c["request"]["url"])
    r = c["request"]
    _rescope(r, "/us-east-1/dynamodb/aws4_request", "/us-east-1/s3/aws4_request")
    add("dynamodb", "GetItem", "attack-service-mismatch",
        "host dynamodb.us-east-1.amazonaws.com but the SigV4 credential scope signs for service s3 "
        "(host vs scope service mismatch)", r, "disagree")
    # 4. host region us-west-2, credential scope region eu-west-1
    c = _find(rec, "dynamodb", "UpdateItem", lambda c: "dynamodb.us-west-2.amazonaws.com" in c["request"]["url"])
    r = c["request"]
    _rescope(r, "/us-west-2/dynamodb/aws4_request", "/eu-west-1/dynamodb/aws4_request")
    add("dynamodb", "UpdateItem", "attack-region-mismatch",
        "host dynamodb.us-west-2.amazonaws.com but the credential scope region is eu-west-1 "
        "(host vs scope region mismatch)", r, "disagree")
    # 5. same for S3 path style on a regional host
    c = _find(rec, "s3", "GetObject", lambda c: c["request"]["url"].startswith("https://s3.us-west-2.amazonaws.com/"))
    r = c["request"]
    _rescope(r, "/us-west-2/s3/aws4_request", "/eu-west-1/s3/aws4_request")
    add("s3", "GetObject", "attack-region-mismatch",
        "S3 host s3.us-west-2.amazonaws.com but the credential scope region is eu-west-1 "
        "(host vs scope region mismatch)", r, "disagree")
    # 6. SQS query: Action in the query string and another Action in the form body
    c = _find(rec, "sqs", "DeleteQueue", lambda c: "query protocol" in c["name"])
    r = c["request"]
    r["url"] = r["url"].split("?")[0] + "?Action=ReceiveMessage"
    add("sqs", "DeleteQueue", "attack-query-vs-body",
        "SQS query form with Action=ReceiveMessage in the URL query string and Action=DeleteQueue in the "
        "form body (two sources of the operation)", r, "conflict")
    # 7. JSON service: X-Amz-Target PutItem, ?Action=DeleteTable in the query string
    c = _find(rec, "dynamodb", "PutItem", in_east)
    r = c["request"]
    r["url"] = r["url"].split("?")[0] + "?Action=DeleteTable"
    add("dynamodb", "PutItem", "attack-target-vs-query-action",
        "DynamoDB JSON request (X-Amz-Target PutItem) with ?Action=DeleteTable in the query string", r, "conflict")
    # 8. duplicated X-Amz-Target with two different values
    c = _find(rec, "dynamodb", "GetItem", in_east)
    r = c["request"]
    _set_header(r, "x-amz-target", "DynamoDB_20120810.DeleteTable", add=True)
    add("dynamodb", "GetItem", "attack-duplicate-target",
        "two X-Amz-Target headers: DynamoDB_20120810.GetItem and DynamoDB_20120810.DeleteTable", r, "conflict")
    # 9. CBOR: the operation in the path vs an added X-Amz-Target
    c = _find(rec, "cloudwatch", "ListMetrics", lambda c: "cbor" in c["name"])
    r = c["request"]
    _set_header(r, "x-amz-target", "GraniteServiceVersion20100801.DeleteAlarms", add=True)
    add("cloudwatch", "ListMetrics", "attack-cbor-path-vs-target",
        "CloudWatch rpc-v2-cbor request whose path names ListMetrics plus an X-Amz-Target naming DeleteAlarms",
        r, "conflict")
    # 10. S3 GET /bucket/key?uploads with x-amz-copy-source: no S3 operation has that shape
    c = _find(rec, "s3", "GetObject", lambda c: c["request"]["url"].startswith("https://s3.us-west-2.amazonaws.com/"))
    r = c["request"]
    r["url"] = r["url"].split("?")[0] + "?uploads"
    _set_header(r, "x-amz-copy-source", "source-bucket/src/obj.txt", add=True)
    add("s3", "GetObject", "attack-nonsense-subresource",
        "S3 GET /bucket/key?uploads with an x-amz-copy-source header (matches no operation: the action "
        "must stay absent and the request be denied, not guessed as GetObject/ListMultipartUploads/CopyObject)",
        r, "ambiguous")
    # 11. Authorization header and presign query credential naming different accounts
    c = _find(rec, "s3", "GetObject", lambda c: c["request"]["url"] == "https://corpus-bucket.s3.amazonaws.com/a/obj.txt")
    r = c["request"]
    r["url"] += ("?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA222222222222XXXX%2F20250115%2Fus-east-1"
                 "%2Fs3%2Faws4_request&X-Amz-Date=20250115T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
                 "&X-Amz-Signature=" + "0" * 64)
    add("s3", "GetObject", "attack-two-credentials",
        "S3 GET signed twice: Authorization header for account 111111111111 and X-Amz-Credential query "
        "parameter for account 222222222222", r, "conflict")
    return out


def write_cases(rec, attacks):
    if CASES.exists():
        for p in CASES.glob("*.json"):
            p.unlink()
    CASES.mkdir(parents=True, exist_ok=True)
    n = 0
    for client_name, op, variant, case in rec.cases + attacks:
        n += 1
        slug = re.sub(r"[^a-z0-9]+", "-", variant.lower()).strip("-")
        fname = f"{n:03d}-{client_name}-{op}" + (f"-{slug}" if slug else "") + ".json"
        with open(CASES / fname, "w", encoding="utf-8") as f:
            json.dump(case, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return n


def main():
    patch_determinism()
    work = tempfile.mkdtemp(prefix="clawgate-corpus-")
    for k in list(os.environ):
        if k.startswith("AWS_") or k.lower() in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
            del os.environ[k]
    proxy = Proxy(work)
    try:
        (Path(work) / "cli-config").write_text("")
        (Path(work) / "cli-credentials").write_text("")
        os.environ.update({
            "HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}",
            "AWS_CA_BUNDLE": str(proxy.ca),
            "REQUESTS_CA_BUNDLE": str(proxy.ca),
            "AWS_CONFIG_FILE": str(Path(work) / "empty-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(Path(work) / "empty-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        })
        (Path(work) / "empty-config").write_text("")
        (Path(work) / "empty-credentials").write_text("")
        rec = Recorder(proxy, work)
        attacks = record_all(rec)
        n = write_cases(rec, attacks)
    finally:
        proxy.stop()
    shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {n} cases to {CASES}")


if __name__ == "__main__":
    if os.environ.get("PYTHONHASHSEED") != "0":  # the User-Agent's feature list is a set: fix its order
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    if len(sys.argv) > 1 and sys.argv[1] == "--aws-cli":
        sys.exit(cli_shim(sys.argv[2:]))
    main()
