#!/usr/bin/env bash
# Builds the local control plane's binaries (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kwok), Flux's
# source-controller and kustomize-controller (with their CRDs) and Helm from
# the pinned modules under hack/tools and caches them by version under
# ${SERIN_CACHE:-~/.cache/serin}/bin. A cached version is never rebuilt.
# Progress goes to stderr; stdout gets NAME=PATH lines for the binaries.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${SERIN_CACHE:-$HOME/.cache/serin}
bin="$cache/bin"
mkdir -p "$bin"
# Test packages run this too (test/cluster.FindBinaries), several at once:
# one builds, the others wait for it and then find everything cached.
exec 9>"$cache/.build-tools.lock"
flock 9

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
  log "$name: building $* (first build only; Kubernetes takes 10-17 minutes on 2 cores, Flux about as long)"
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
# Helm reports its version and the Kubernetes version of its client
# modules as its own release build does.
helm_kube=$(cd "$here/tools/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)
helm_kube_minor=${helm_kube#v0.}; helm_kube_minor=${helm_kube_minor%%.*}
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$helm_kube_minor"
done
build_once "helm-$HELM_VERSION" helm "$helm_ldflags" helm.sh/helm/v3/cmd/helm

build_once "kube-$KUBE_VERSION" kube "$kube_ldflags" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl

# flux_crds copies the CRDs of the pinned Flux controllers beside them.
flux_crds() {
  local out="$bin/flux-$FLUX_VERSION/crds"
  [[ -d "$out" ]] && return
  local tmp="$out.tmp.$$" m dir
  mkdir -p "$tmp"
  for m in source-controller kustomize-controller; do
    dir=$(cd "$here/tools/flux" && go list -m -f '{{.Dir}}' "github.com/fluxcd/$m")
    cp "$dir"/config/crd/bases/*.yaml "$tmp/"
  done
  chmod 644 "$tmp"/*.yaml
  mv "$tmp" "$out"
}

build_once "flux-$FLUX_VERSION" flux "-s -w" \
  github.com/fluxcd/source-controller github.com/fluxcd/kustomize-controller
flux_crds

kube="$bin/kube-$KUBE_VERSION"
flux="$bin/flux-$FLUX_VERSION"
cat <<OUT
ETCD=$bin/etcd-$ETCD_VERSION/etcd
KWOK=$bin/kwok-$KWOK_VERSION/kwok
KWOK_STAGES=$bin/kwok-$KWOK_VERSION/stages.yaml
KUBE_APISERVER=$kube/kube-apiserver
KUBE_CONTROLLER_MANAGER=$kube/kube-controller-manager
KUBE_SCHEDULER=$kube/kube-scheduler
KUBECTL=$kube/kubectl
FLUX_SOURCE_CONTROLLER=$flux/source-controller
FLUX_KUSTOMIZE_CONTROLLER=$flux/kustomize-controller
FLUX_CRDS=$flux/crds
HELM=$bin/helm-$HELM_VERSION/helm
OUT
