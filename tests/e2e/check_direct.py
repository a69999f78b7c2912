#!/usr/bin/env python3
"""Self-check of the AWS stand-in WITHOUT clawgate (not part of the test suite).

    .venv/bin/python tests/e2e/check_direct.py            # starts its own moto, seeds, checks
    .venv/bin/python tests/e2e/check_direct.py --endpoint-url   # boto3 endpoint_url mode

What it does:
  1. makes a throwaway CA + leaf (moto_tls.make_certs), starts moto_server over
     HTTPS on 127.0.0.1 (free port), seeds it by running seed.py as a subprocess
     (the exact command the Rust tests use), parses its one JSON line;
  2. by default resolves every *.amazonaws.com name to 127.0.0.1:<moto port>
     inside this process (socket.getaddrinfo patch), so boto3 uses the REAL host
     names (Host header, SNI, certificate SANs) as it would through clawgate; with
     --endpoint-url it instead points each client at https://127.0.0.1:PORT;
  3. with the base key: STS AssumeRole into each member account's role, then with
     the temporary credentials checks caller identity, S3, DynamoDB, AccessDenied;
     a wrong secret gives SignatureDoesNotMatch; tries several S3 host forms.
Prints one line per check; exit status 0 only if all pass. moto's stderr is
kept in the temp dir and printed on failure.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import moto_tls  # noqa: E402
import seed as seedmod  # noqa: E402

seedmod._isolate_env()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

ROLE = "clawgate-agent"
REGION = "us-east-1"
FAILED: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {name}{'  -- ' + detail if detail else ''}", flush=True)
    if not ok:
        FAILED.append(name)


def expect_error(name: str, code: str, fn) -> None:
    try:
        fn()
    except ClientError as e:
        got = e.response.get("Error", {}).get("Code")
        check(name, got == code, f"{got} (HTTP {e.response['ResponseMetadata'].get('HTTPStatusCode')})")
        return
    check(name, False, f"expected {code}, call succeeded")


def account_from_key_id(key_id: str) -> str:
    """The account id encoded in an AKIA/ASIA key id (the real AWS scheme)."""
    b = base64.b32decode(key_id[4:])  # 16 chars -> 10 bytes
    z = int.from_bytes(b[:6], "big") & 0x7FFFFFFFFF80
    return f"{z >> 7:012d}"


def redirect_aws_to(port: int) -> None:
    """*.amazonaws.com:443 -> 127.0.0.1:port, for this process only."""
    real = socket.getaddrinfo

    def fake(host, p, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".amazonaws.com"):
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, p, *args, **kwargs)

    socket.getaddrinfo = fake


class Clients:
    def __init__(self, ca: str, endpoint: str | None):
        self.ca, self.endpoint = ca, endpoint

    def __call__(self, service: str, creds: dict, endpoint: str | None = None, **cfg):
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=endpoint or self.endpoint,
            verify=self.ca,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds.get("SessionToken"),
            config=Config(retries={"max_attempts": 1}, proxies={}, **cfg),
        )


def run_checks(ca: str, base: dict, endpoint: str | None, hub: str) -> None:
    client = Clients(ca, endpoint)
    base_creds = {"AccessKeyId": base["access_key_id"], "SecretAccessKey": base["secret_access_key"]}

    kid = base["access_key_id"]
    check("base key id encodes the hub account", account_from_key_id(kid) == hub,
          f"{kid} -> {account_from_key_id(kid)}")

    sts = client("sts", base_creds)
    if endpoint is None:
        check("STS host is regional", sts.meta.endpoint_url == f"https://sts.{REGION}.amazonaws.com",
              sts.meta.endpoint_url)
    ident = sts.get_caller_identity()
    check("base get-caller-identity = hub user", ident["Account"] == hub, ident["Arn"])

    expect_error("wrong secret -> SignatureDoesNotMatch (STS)", "SignatureDoesNotMatch",
                 lambda: client("sts", {**base_creds, "SecretAccessKey": "wrong" + base_creds["SecretAccessKey"][5:]})
                 .get_caller_identity())
    expect_error("unknown key -> InvalidClientTokenId (STS)", "InvalidClientTokenId",
                 lambda: client("sts", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "x" * 40})
                 .get_caller_identity())

    temp = {}
    for account in ("111111111111", "222222222222"):
        t0 = time.monotonic()
        r = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="check-direct")
        c = r["Credentials"]
        temp[account] = c
        check(f"AssumeRole into {account}", True,
              f"{c['AccessKeyId']} (key encodes {account_from_key_id(c['AccessKeyId'])}), "
              f"{(time.monotonic() - t0) * 1000:.0f} ms")
        who = client("sts", c).get_caller_identity()
        check(f"temp creds get-caller-identity = {account}", who["Account"] == account, who["Arn"])

    # ---- 111111111111: S3 + DynamoDB allowed
    c1 = temp["111111111111"]
    s3 = client("s3", c1)
    bucket = moto_tls.BUCKETS[0]
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello from check_direct")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    check("111: S3 create_bucket/put_object/list_objects_v2", keys == ["hello.txt"], f"keys={keys}")
    body = s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read()
    check("111: S3 get_object", body == b"hello from check_direct")
    head = s3.head_object(Bucket=bucket, Key="hello.txt")
    check("111: S3 head_object ContentLength", head["ContentLength"] == len(body), str(head["ContentLength"]))

    if endpoint is None:
        # Which S3 host forms moto accepts (each signed for, and sent with, that Host).
        forms = {
            "virtual https://<b>.s3.amazonaws.com": ("https://s3.amazonaws.com", "virtual"),
            "path https://s3.amazonaws.com/<b>": ("https://s3.amazonaws.com", "path"),
            "path https://s3.us-east-1.amazonaws.com/<b>": ("https://s3.us-east-1.amazonaws.com", "path"),
            "virtual https://<b>.s3.us-east-1.amazonaws.com": ("https://s3.us-east-1.amazonaws.com", "virtual"),
        }
        for label, (ep, style) in forms.items():
            cl = client("s3", c1, endpoint=ep, s3={"addressing_style": style})
            seen = {}

            def record(request, **_):  # must return None: a return value IS the response
                seen["url"] = request.url

            cl.meta.events.register("before-send.s3.*", record)
            try:
                ks = [o["Key"] for o in cl.list_objects_v2(Bucket=bucket).get("Contents", [])]
                check(f"S3 host form {label}", ks == ["hello.txt"], seen.get("url", ""))
            except Exception as e:  # noqa: BLE001
                check(f"S3 host form {label}", False, f"{seen.get('url')}: {e}")

    ddb = client("dynamodb", c1)
    if endpoint is None:
        check("DynamoDB host", ddb.meta.endpoint_url == f"https://dynamodb.{REGION}.amazonaws.com",
              ddb.meta.endpoint_url)
    ddb.create_table(
        TableName="clawgate-e2e",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="clawgate-e2e", Item={"id": {"S": "1"}, "v": {"S": "one"}})
    items = ddb.scan(TableName="clawgate-e2e")["Items"]
    check("111: DynamoDB create_table/put_item/scan", items == [{"id": {"S": "1"}, "v": {"S": "one"}}], str(items))

    expect_error("111: S3 with wrong secret -> SignatureDoesNotMatch", "SignatureDoesNotMatch",
                 lambda: client("s3", {**c1, "SecretAccessKey": "x" * 40}).list_buckets())

    # ---- 222222222222: only s3:ListAllMyBuckets
    c2 = temp["222222222222"]
    s3b = client("s3", c2)
    expect_error("222: S3 create_bucket -> AccessDenied", "AccessDenied",
                 lambda: s3b.create_bucket(Bucket=moto_tls.BUCKETS[1]))
    names = [b["Name"] for b in s3b.list_buckets()["Buckets"]]
    check("222: S3 list_buckets works and is per-account (empty)", names == [], f"buckets={names}")
    names1 = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    check("111: S3 list_buckets shows its bucket", names1 == [bucket], f"buckets={names1}")
    # moto quirk: the DynamoDB (JSON protocol) denial comes back as an XML
    # <ErrorResponse> with Content-Type text/html, so boto3 reports Code "403" and
    # the XML as the message (real AWS: JSON AccessDeniedException).
    try:
        client("dynamodb", c2).list_tables()
        check("222: DynamoDB list_tables -> 403 AccessDenied", False, "call succeeded")
    except ClientError as e:
        err = e.response["Error"]
        check("222: DynamoDB list_tables -> 403 AccessDenied",
              e.response["ResponseMetadata"]["HTTPStatusCode"] == 403 and "AccessDenied" in err.get("Message", ""),
              f"Code={err.get('Code')!r}, body is XML <Code>AccessDenied</Code>")

    # ---- IAM (global host) with the base key: not allowed by its policy
    if endpoint is None:
        iam = client("iam", base_creds)
        check("IAM host", iam.meta.endpoint_url == "https://iam.amazonaws.com", iam.meta.endpoint_url)
    expect_error("base key: iam list_users -> AccessDenied", "AccessDenied",
                 lambda: client("iam", base_creds).list_users())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint-url", action="store_true",
                    help="point boto3 at https://127.0.0.1:PORT instead of resolving AWS names to it")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (certs, moto.stderr)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="clawgate-moto-"))
    t0 = time.monotonic()
    paths = moto_tls.make_certs(tmp)
    print(f"certs: {time.monotonic() - t0:.2f} s  ({tmp})", flush=True)
    stderr_path = tmp / "moto.stderr"
    proc, port, ready = moto_tls.start(paths["cert"], paths["key"], paths["ca"], 0, stderr_path)
    print(f"moto_server https://127.0.0.1:{port} ready after {ready:.2f} s (pid {proc.pid})", flush=True)
    try:
        endpoint = f"https://127.0.0.1:{port}"
        t1 = time.monotonic()
        r = subprocess.run(
            [sys.executable, str(HERE / "seed.py"), "--endpoint", endpoint, "--ca", paths["ca"],
             "--role", ROLE],
            capture_output=True, text=True, timeout=60,
        )
        lines = r.stdout.splitlines()
        check("seed.py exit 0 and exactly one stdout line", r.returncode == 0 and len(lines) == 1,
              f"{time.monotonic() - t1:.2f} s; stderr={r.stderr.strip()!r}")
        if r.returncode != 0:
            return 1
        base = json.loads(lines[0])
        print(f"seed output: {lines[0]}", flush=True)

        if not args.endpoint_url:
            redirect_aws_to(port)
        t2 = time.monotonic()
        try:
            run_checks(paths["ca"], base, endpoint if args.endpoint_url else None, base["hub_account"])
        except Exception as e:  # noqa: BLE001
            check("unexpected exception", False, f"{type(e).__name__}: {e}")
        print(f"checks: {time.monotonic() - t2:.2f} s", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if FAILED:
            print("---- moto stderr (tail) ----", file=sys.stderr)
            print("\n".join(stderr_path.read_text(errors="replace").splitlines()[-60:]), file=sys.stderr)
        if not args.keep:
            for f in tmp.iterdir():
                f.unlink()
            tmp.rmdir()
    print("ALL PASS" if not FAILED else f"{len(FAILED)} FAILED: {FAILED}")
    return 0 if not FAILED else 1


if __name__ == "__main__":
    sys.exit(main())
