#!/usr/bin/env python3
"""moto_server over HTTPS on 127.0.0.1, with a certificate from a throwaway test CA.

The Rust e2e tests make the CA and leaf themselves (rcgen, tests/support/test_ca.rs)
and only need the recipe below; this file is the same recipe in Python, for the
self-check (check_direct.py) and for poking at moto by hand.

The recipe (verified with moto 5.2.5 / Werkzeug 3.1.9 / Python 3.11):

    .venv/bin/moto_server -H 127.0.0.1 -p PORT -c CHAIN.pem -k KEY.pem

  * -c is handed to ssl.SSLContext.load_cert_chain(): PEM, leaf first, the CA
    after it is allowed (sent as the chain). -k: PEM private key, PKCS#8
    ("BEGIN PRIVATE KEY", what rcgen's serialize_pem() gives) or SEC1 both load.
    ECDSA P-256 works. Both -c AND -k are needed; either alone silently serves
    plain HTTP.
  * -p 0 works: the kernel picks a free port and Werkzeug logs the real one on
    STDERR as " * Running on https://127.0.0.1:NNNNN" (nothing on stdout).
    (MOTO_PORT is then "0" inside moto; that only matters for services that
    build URLs to themselves, e.g. SQS queue URLs - not STS/IAM/S3/DynamoDB.)
  * The leaf's SANs must list 127.0.0.1 as an IP SAN too if anything talks
    to https://127.0.0.1:PORT directly (seed.py does), besides every AWS host
    name the test uses.
  * Ready: ~0.6-1.0 s after spawn on this machine (mostly Python imports). Check
    readiness by GET https://127.0.0.1:PORT/moto-api/config (trusting the CA):
    any HTTP answer (it is 201 + JSON) means ready; before that, connection
    refused. Waiting for the "Running on" stderr line also works (it is printed
    right after the socket is bound).
  * Stop it with SIGTERM/SIGKILL to its pid (it is a single process: no
    reloader unless -r).

Usage:
    .venv/bin/python tests/e2e/moto_tls.py DIR [--port 0]
        writes DIR/ca.pem, DIR/cert.pem (leaf + CA), DIR/key.pem if missing, starts
        moto_server (stderr -> DIR/moto.stderr), waits until ready, prints one
        JSON line {"port", "pid", "ca", "ready_seconds"} and stays in the
        foreground until killed (Ctrl-C kills moto too).
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Bucket names the e2e tests / self-check use in virtual-host style. A wildcard
# SAN covers exactly one label, so "*.s3.amazonaws.com" covers these, but not
# dotted bucket names (those need an explicit SAN or path-style addressing).
BUCKETS = ["clawgate-e2e", "clawgate-e2e-denied"]

HOSTS = [
    "sts.us-east-1.amazonaws.com",
    "sts.amazonaws.com",
    "iam.amazonaws.com",
    "s3.amazonaws.com",
    "s3.us-east-1.amazonaws.com",
    "*.s3.amazonaws.com",
    "*.s3.us-east-1.amazonaws.com",
    "dynamodb.us-east-1.amazonaws.com",
    "localhost",
] + [f"{b}.s3.amazonaws.com" for b in BUCKETS]
IPS = ["127.0.0.1"]

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_certs(out: Path, hosts=HOSTS, ips=IPS) -> dict:
    """Writes ca.pem, cert.pem (leaf then CA), key.pem (PKCS#8) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("clawgate test CA"))
        .issuer_name(_name("clawgate test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(h) for h in hosts] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    paths = {"ca": out / "ca.pem", "cert": out / "cert.pem", "key": out / "key.pem"}
    paths["ca"].write_bytes(ca.public_bytes(pem))
    paths["cert"].write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    paths["key"].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return {k: str(v) for k, v in paths.items()}


def ssl_context(ca: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca)


def is_ready(port: int, ca: str, timeout: float = 1.0) -> bool:
    """True once moto answers any HTTP request over TLS (verified against `ca`)."""
    req = urllib.request.Request(f"https://127.0.0.1:{port}/moto-api/config")
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ssl_context(ca))
    )
    try:
        with opener.open(req, timeout=timeout) as r:
            r.read()
        return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


_RUNNING = re.compile(r"Running on https://127\.0\.0\.1:(\d+)")


def start(cert: str, key: str, ca: str, port: int = 0, stderr_path: str | os.PathLike = os.devnull,
          timeout: float = 20.0):
    """Starts moto_server over HTTPS; returns (Popen, port, seconds until ready)."""
    t0 = time.monotonic()
    env = dict(os.environ)
    env.pop("MOTO_ACCOUNT_ID", None)  # would override every account
    err = open(stderr_path, "wb")
    proc = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port), "-c", cert, "-k", key],
        stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env,
    )
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}; see {stderr_path}")
        if port == 0:
            m = _RUNNING.search(Path(stderr_path).read_text(errors="replace")) if stderr_path != os.devnull else None
            if m:
                port = int(m.group(1))
        if port and is_ready(port, ca):
            return proc, port, time.monotonic() - t0
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"moto_server not ready after {timeout}s; see {stderr_path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    d = args.dir
    if not (d / "key.pem").exists():
        make_certs(d)
    proc, port, took = start(str(d / "cert.pem"), str(d / "key.pem"), str(d / "ca.pem"), args.port,
                             d / "moto.stderr")
    print(json.dumps({"port": port, "pid": proc.pid, "ca": str(d / "ca.pem"), "ready_seconds": round(took, 2)}),
          flush=True)

    def stop(*_):
        proc.terminate()
        proc.wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    proc.wait()


if __name__ == "__main__":
    main()
