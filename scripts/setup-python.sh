#!/usr/bin/env bash
# Creates (or refreshes) the project's Python venv at .venv with what the
# tests and tools need: moto's server (the AWS stand-in), the AWS CLI and boto3
# (real agents), and botocore's service models (the operation table). Pinned,
# idempotent; CI runs it from scripts/test, nobody installs these by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp="$venv/.installed-v1"
packages=("moto[server]==5.2.5" "awscli==1.46.3" "boto3==1.44.5")

if [ -f "$stamp" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
touch "$stamp"
