#!/usr/bin/env bash
# Builds the local control plane's binaries (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kwok) from the pinned
# modules under hack/tools and caches them by version under
# ${SERIN_CACHE:-~/.cache/serin}/bin. A cached version is never rebuilt.
# Progress goes to stderr; stdout gets NAME=PATH lines for the binaries.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${SERIN_CACHE:-$HOME/.cache/serin}
bin="$cache/bin"
mkdir -p "$bin"

log() { printf '[build-tools] %s\n' "$*" >&2; }

# build_once NAME DIR LDFLAGS PKG... builds PKGs from module DIR into
# $bin/NAME unless that directory is already complete.
build_once() {
  local name=$1 dir=$2 ldflags=$3; shift 3
  local out="$bin/$name"
  if [[ -f "$out/.complete" ]]; then
    log "$name: cached in $out"
    return
  fi
  log "$name: building $* (first build only; the Kubernetes one takes about 10 minutes on 2 cores)"
  local tmp="$out.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  local start=$SECONDS
  # Progress: go build -v names each package as it is compiled.
  (cd "$here/tools/$dir" && go build -v -ldflags "$ldflags" -o "$tmp/" "$@") 2>&1 |
    awk -v n="$name" '{c++} c%100==0 {printf "[build-tools] %s: %d packages compiled\n", n, c > "/dev/stderr"}'
  touch "$tmp/.complete"
  rm -rf "$out" && mv "$tmp" "$out"
  log "$name: built in $((SECONDS - start)) s"
}

# kwok_stages writes the stage definitions kwok needs (fast node and pod
# lifecycles, node heartbeat with lease) from the pinned kwok module.
kwok_stages() {
  local out="$bin/kwok-$KWOK_VERSION/stages.yaml"
  [[ -f "$out" ]] && return
  local src
  src=$(cd "$here/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
  local tmp="$out.tmp.$$"
  : >"$tmp"
  for f in "$src"/node/fast/node-initialize.yaml "$src"/node/heartbeat-with-lease/*.yaml "$src"/pod/fast/pod-*.yaml; do
    printf -- '---\n' >>"$tmp"
    cat "$f" >>"$tmp"
  done
  mv "$tmp" "$out"
}

minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
kube_ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
done

build_once "etcd-$ETCD_VERSION" etcd "-s -w" .
build_once "kwok-$KWOK_VERSION" kwok "-s -w" sigs.k8s.io/kwok/cmd/kwok
kwok_stages
build_once "kube-$KUBE_VERSION" kube "$kube_ldflags" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl

kube="$bin/kube-$KUBE_VERSION"
cat <<OUT
ETCD=$bin/etcd-$ETCD_VERSION/etcd
KWOK=$bin/kwok-$KWOK_VERSION/kwok
KWOK_STAGES=$bin/kwok-$KWOK_VERSION/stages.yaml
KUBE_APISERVER=$kube/kube-apiserver
KUBE_CONTROLLER_MANAGER=$kube/kube-controller-manager
KUBE_SCHEDULER=$kube/kube-scheduler
KUBECTL=$kube/kubectl
OUT
