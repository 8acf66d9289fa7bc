#!/usr/bin/env bash
# `make demo`: plays the seed's canary releases on a local control plane
# with a live view (docs/demo.md). Builds the demo program; the program
# builds the operator, the load tester, the mesh emulator and the podinfo
# backend, and starts everything itself. Arguments go to the program:
#   ./hack/demo.sh --provider gatewayapi:v1 --namespace prod
#   DEMO_FAST=1 ./hack/demo.sh      # CI timings: 2s steps, metrics over 10s
#   DEMO_GITOPS=1 ./hack/demo.sh    # release by git commits that Flux applies
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

# The Debian packages the stack runs: hey (the seed's load generator) and
# prometheus (the metrics server the analysis queries).
missing=()
command -v hey >/dev/null || missing+=(hey)
command -v prometheus >/dev/null || missing+=(prometheus)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "demo: missing ${missing[*]}; install them with: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "demo: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

go build -o bin/demo ./test/demo/cmd/demo
exec bin/demo "$@"
