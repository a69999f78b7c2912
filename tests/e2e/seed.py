#!/usr/bin/env python3
"""Seeds a fresh moto_server (auth still off) for clawgate's e2e tests, then turns
moto's signature checking on.

    .venv/bin/python tests/e2e/seed.py --endpoint https://127.0.0.1:PORT --ca CA.pem \
        [--role clawgate-agent] [--hub 000000000000]

Talks to moto DIRECTLY (never through a proxy) and trusts only --ca. Creates:
  * hub account:   IAM user clawgate-base, inline policy allowing sts:AssumeRole on
                   arn:aws:iam::*:role/<role>, and one access key for it;
  * 111111111111:  role <role> (trusting the hub account), inline policy s3:* + dynamodb:*;
  * 222222222222:  role <role> (trusting the hub account), inline policy s3:ListAllMyBuckets.
Then POST /moto-api/reset-auth with body "0" (signature checking on).

Stdout: exactly one JSON line
    {"access_key_id": "...", "secret_access_key": "...", "hub_account": "..."}
Anything else (errors) goes to stderr; exit status non-zero on failure.

Run it once per moto_server: a second run fails (user exists, and auth is on).
How to start moto over HTTPS: see moto_tls.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
import ssl

MEMBERS = {
    "111111111111": ["s3:*", "dynamodb:*"],
    "222222222222": ["s3:ListAllMyBuckets"],
}
BASE_USER = "clawgate-base"


def _isolate_env() -> None:
    """Our own calls go straight to moto: no proxy, no user AWS config."""
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(var, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def _iam(endpoint: str, ca: str, account: str):
    import boto3
    from botocore.config import Config

    # Auth is off while seeding, so any credentials do; the account comes from the
    # x-moto-account-id header, added to every request of this client.
    client = boto3.client(
        "iam",
        endpoint_url=endpoint,
        verify=ca,
        region_name="us-east-1",
        aws_access_key_id="seeding",
        aws_secret_access_key="seeding",
        config=Config(retries={"max_attempts": 1}, proxies={}),
    )

    def add_account(request, **_):
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-sign.iam.*", add_account)
    return client


def _policy(actions, resource="*") -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
    })


def seed(endpoint: str, ca: str, role: str, hub: str) -> dict:
    iam = _iam(endpoint, ca, hub)
    iam.create_user(UserName=BASE_USER)
    iam.put_user_policy(
        UserName=BASE_USER,
        PolicyName="clawgate-assume",
        PolicyDocument=_policy(["sts:AssumeRole"], f"arn:aws:iam::*:role/{role}"),
    )
    key = iam.create_access_key(UserName=BASE_USER)["AccessKey"]

    trust = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{hub}:root"},
            "Action": "sts:AssumeRole",
        }],
    })
    for account, actions in MEMBERS.items():
        m = _iam(endpoint, ca, account)
        m.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
        m.put_role_policy(RoleName=role, PolicyName="clawgate-agent", PolicyDocument=_policy(actions))

    enable_auth(endpoint, ca)
    return {
        "access_key_id": key["AccessKeyId"],
        "secret_access_key": key["SecretAccessKey"],
        "hub_account": hub,
    }


def moto_api(endpoint: str, ca: str, path: str, body: bytes | None = None) -> bytes:
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca)),
    )
    # Content-Type matters: with urllib's default (form-urlencoded) Flask parses the
    # body as a form and moto's reset-auth sees an empty body -> 500.
    req = urllib.request.Request(endpoint.rstrip("/") + path, data=body, method="POST" if body is not None else "GET",
                                 headers={"Content-Type": "text/plain"})
    with opener.open(req, timeout=10) as r:
        return r.read()


def enable_auth(endpoint: str, ca: str) -> None:
    """Signature/permission checking on from the next request ("inf" = off)."""
    out = json.loads(moto_api(endpoint, ca, "/moto-api/reset-auth", b"0"))
    if out.get("status") != "ok":
        raise RuntimeError(f"reset-auth: {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", required=True, help="https://127.0.0.1:PORT (moto itself)")
    ap.add_argument("--ca", required=True, help="PEM of the CA that signed moto's certificate")
    ap.add_argument("--role", default="clawgate-agent")
    ap.add_argument("--hub", default="000000000000", help="12-digit hub account id")
    args = ap.parse_args()
    if not (len(args.hub) == 12 and args.hub.isdigit()):
        ap.error("--hub must be 12 digits")
    _isolate_env()
    try:
        out = seed(args.endpoint, args.ca, args.role, args.hub)
    except Exception as e:  # noqa: BLE001 - report anything on stderr, non-zero exit
        print(f"seed.py: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
