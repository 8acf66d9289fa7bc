# Serin's developer entry points. `make demo` and `make test` are the two
# commands the README gives; both build what they need.
SHELL := /usr/bin/env bash
GO ?= go
BIN := $(CURDIR)/bin
CLUSTER_DIR ?= $(CURDIR)/.cluster
CONTROLLER_GEN_VERSION := v0.23.0
CONTROLLER_GEN := $(BIN)/controller-gen-$(CONTROLLER_GEN_VERSION)
TEST_TIMEOUT ?= 60m

VERSION ?= $(shell git describe --tags --always --dirty)
PLATFORMS ?= linux/amd64

.PHONY: all build generate chart-sync tools test unit cluster-up cluster-down demo images fmt vet clean

all: build

build: ## Build the operator, the load tester and the cluster helper into bin/
	$(GO) build -o $(BIN)/ ./cmd/... ./test/cluster/cmd/localcluster

$(CONTROLLER_GEN):
	GOBIN=$(BIN) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(BIN)/controller-gen $@

generate: $(CONTROLLER_GEN) ## Regenerate deepcopy code, CRDs and RBAC from the API markers
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) object paths=./internal/router/appmesh/apis/...
	$(CONTROLLER_GEN) crd paths=./internal/router/appmesh/apis/v1beta2/... output:crd:artifacts:config=test/crds/appmesh/v1beta2
	$(CONTROLLER_GEN) crd paths=./internal/router/appmesh/apis/v1beta1/... output:crd:artifacts:config=test/crds/appmesh/v1beta1
	$(CONTROLLER_GEN) crd:allowDangerousTypes=true paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=serin paths=./internal/... output:rbac:artifacts:config=config/rbac
	$(CONTROLLER_GEN) rbac:roleName=serin-dashboard paths=./cmd/serin-dashboard/... output:rbac:artifacts:config=config/dashboard
	$(MAKE) chart-sync

chart-sync: ## Copy the generated CRDs and ClusterRole into charts/serin (a test fails when they differ)
	rm -f charts/serin/crds/*.yaml
	cp config/crd/bases/*.yaml charts/serin/crds/
	cp config/rbac/role.yaml charts/serin/files/clusterrole.yaml

tools: ## Build (or find cached) etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok, helm
	./hack/build-tools.sh >/dev/null

test: tools ## Unit, integration and end-to-end tests against a real local control plane
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

unit: ## Only the tests that need no cluster
	$(GO) test -count=1 ./api/... ./internal/...

cluster-up: tools ## Start a local control plane in the background; prints KUBECONFIG=<path> last
	@$(GO) build -o $(BIN)/localcluster ./test/cluster/cmd/localcluster
	@$(BIN)/localcluster up $(CLUSTER_DIR)

cluster-down: ## Stop the local control plane started by cluster-up
	@$(GO) build -o $(BIN)/localcluster ./test/cluster/cmd/localcluster
	@$(BIN)/localcluster down $(CLUSTER_DIR)

demo: tools ## Play the seed scenario on a local control plane
	./hack/demo.sh

images: ## Build the serin and serin-loadtester images into build/images (OCI layout and docker tarballs; no daemon)
	$(GO) run ./hack/images --out $(CURDIR)/build/images --version $(VERSION) --platforms $(PLATFORMS)

fmt:
	gofmt -l -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN) $(CLUSTER_DIR) $(CURDIR)/build
