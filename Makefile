# Videoflix platform. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath .)
LOCALBIN ?= $(ROOT)/bin
export PATH := $(LOCALBIN):$(ROOT)/node_modules/.bin:$(PATH)
export LOCALBIN
NODE := $(LOCALBIN)/node
NPM_STAMP := node_modules/.install-stamp

##@ General
.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z0-9_-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Tools (pinned in hack/versions.env, built once per version into $$HOME/.cache/videoflix/tools, linked into ./bin)
.PHONY: deps tools node
deps: ## Install missing Debian packages (ffmpeg, postgresql, rabbitmq, docker.io, debootstrap, chromium).
	hack/deps.sh all
node: $(NODE) ## Install the pinned Node.js 24 into ./bin.
$(NODE):
	hack/tools.sh node
tools: ## Build every pinned tool (kube-*, etcd, versitygw, helm, kind, maildev, node).
	hack/tools.sh all
$(NPM_STAMP): package-lock.json | $(NODE)
	npm ci --no-audit --no-fund
	touch $@

##@ Development
.PHONY: install build typecheck lint format
install: $(NPM_STAMP) ## Install npm dependencies (npm ci).
build: $(NPM_STAMP) ## Compile TypeScript with tsc into dist/.
	npm run build
typecheck: $(NPM_STAMP) ## Type-check everything, tests included.
	npm run typecheck
lint: $(NPM_STAMP) ## ESLint + Prettier check + the chart's copies of the CRD and of the operator's RBAC rules.
	npm run lint
	hack/check-crd-copy.sh
	hack/check-rbac-copy.sh
format: $(NPM_STAMP) ## Format with Prettier.
	npm run format

##@ Tests
.PHONY: test test-unit test-integration test-cluster test-e2e test-attack test-faults env-up env-down
test: ## Install, build tools, lint, unit, integration (host tier), cluster, e2e, attack and fault-injection (kind) tests.
	hack/test.sh all
test-unit: $(NPM_STAMP) ## Unit tests (no I/O).
	npm run test:unit
test-integration: $(NPM_STAMP) ## Integration tests against the host tier (starts it unless env-up did).
	hack/deps.sh host && hack/tools.sh host
	npm run test:integration
test-cluster: $(NPM_STAMP) ## Cluster-tier tests on kind (creates the cluster and deletes it unless KEEP_CLUSTER=1).
	hack/test.sh cluster
test-e2e: $(NPM_STAMP) ## End-to-end tests on kind.
	hack/test.sh e2e
test-attack: $(NPM_STAMP) ## Attack suite (test/attack) against the make dev platform on kind (run after test-e2e, or it brings the platform up).
	npm run test:attack
test-faults: $(NPM_STAMP) ## Fault-injection tier on kind (issue 20), alone: brings the platform up when none runs; figures in test-results/faults/.
	hack/test.sh faults
env-up: $(NPM_STAMP) ## Start the host test environment (etcd, kube-apiserver, KCM, versitygw, PostgreSQL, RabbitMQ, SMTP).
	hack/deps.sh host && hack/tools.sh host
	node --import=tsx packages/hostenv/src/cli.ts up
env-down: $(NPM_STAMP) ## Stop the host test environment.
	node --import=tsx packages/hostenv/src/cli.ts down

##@ Cluster tier (kind, air-gapped)
.PHONY: docker-up docker-down base-image node-image cluster cluster-down images
docker-up: ## Start the project's own dockerd (host networking left alone).
	hack/cluster/docker.sh up
docker-down: ## Stop the project's dockerd.
	hack/cluster/docker.sh down
base-image: docker-up ## Build the Debian base image with debootstrap.
	hack/cluster/base-image.sh
node-image: base-image ## Assemble the kind node image (cached).
	hack/cluster/node-image.sh
cluster: node-image ## Create (or reuse) the kind cluster.
	hack/cluster/cluster.sh up
cluster-down: ## Delete the kind cluster.
	hack/cluster/cluster.sh down
images: base-image ## Build the project's images and kind-load them.
	hack/cluster/images.sh

##@ Local platform
.PHONY: dev dev-down
dev: ## Run the platform on the kind cluster: chart, ingress, admin account, a Ready sample; URLs in .dev/endpoints.env.
	hack/dev.sh up
dev-down: ## Remove the platform: the release, the cluster, and the project's dockerd.
	hack/dev.sh down

##@ Benchmarks
.PHONY: bench
bench: $(NPM_STAMP) ## Run the benchmarks under bench/ and print their figures.
	hack/bench.sh
