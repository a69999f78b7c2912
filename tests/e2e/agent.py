#!/usr/bin/env python3
"""boto3 as an agent of clawgate, for the e2e tests. Runs inside the agent's
environment (HTTPS_PROXY, AWS_CA_BUNDLE, AWS_CONFIG_FILE … set by the test).

    agent.py identity-burst N          N concurrent GetCallerIdentity calls, alternating
                                       profiles prod and readonly; prints the accounts seen
    agent.py roundtrip BUCKET TABLE    S3 put/get (5 MiB, streamed) and DynamoDB put/scan
                                       with profile prod; prints "ok"
    agent.py signed-chunks BUCKET      S3 PutObject over plain HTTP with payload signing on
                                       (botocore 1.44 signs the body's hash then); prints the
                                       payload mode it used, then "ok"
"""

import concurrent.futures
import hashlib
import io
import json
import sys

import boto3


def identity_burst(n: int) -> None:
    sessions = {p: boto3.session.Session(profile_name=p) for p in ("prod", "readonly")}
    clients = {p: s.client("sts") for p, s in sessions.items()}

    def call(i: int) -> str:
        profile = "prod" if i % 2 == 0 else "readonly"
        return clients[profile].get_caller_identity()["Account"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        accounts = list(pool.map(call, range(n)))
    print(json.dumps(sorted(set(accounts))))


def roundtrip(bucket: str, table: str) -> None:
    session = boto3.session.Session(profile_name="prod")
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket)
    data = bytes(range(256)) * (5 * 1024 * 1024 // 256)
    s3.upload_fileobj(io.BytesIO(data), bucket, "boto3/object with spaces+ünï.bin")
    got = s3.get_object(Bucket=bucket, Key="boto3/object with spaces+ünï.bin")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), "S3 round trip differs"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "boto3/object with spaces+ünï.bin" in keys, keys
    ddb = session.client("dynamodb")
    ddb.put_item(TableName=table, Item={"id": {"S": "boto3"}, "n": {"N": "7"}})
    items = ddb.scan(TableName=table)["Items"]
    assert {"id": {"S": "boto3"}, "n": {"N": "7"}} in items, items
    print("ok")


def signed_chunks(bucket: str) -> None:
    from botocore.config import Config

    session = boto3.session.Session(profile_name="prod")
    s3 = session.client(
        "s3",
        endpoint_url="http://s3.amazonaws.com",
        config=Config(s3={"payload_signing_enabled": True, "addressing_style": "virtual"}),
    )
    modes = []
    s3.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: modes.append(request.headers.get("x-amz-content-sha256"))
    )
    data = bytes(range(256)) * 1024
    s3.put_object(Bucket=bucket, Key="signed/chunks.bin", Body=io.BytesIO(data))
    got = s3.get_object(Bucket=bucket, Key="signed/chunks.bin")["Body"].read()
    assert got == data, "the signed-chunk upload came back different"
    print(modes[0].decode() if isinstance(modes[0], bytes) else modes[0])
    print("ok")


if __name__ == "__main__":
    if sys.argv[1] == "identity-burst":
        identity_burst(int(sys.argv[2]))
    elif sys.argv[1] == "signed-chunks":
        signed_chunks(sys.argv[2])
    elif sys.argv[1] == "roundtrip":
        roundtrip(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {sys.argv[1]!r}")
