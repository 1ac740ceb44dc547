# PartnerLoop — developer and build entry points (GNU make).
#
#   make help                      list the targets
#   make run                       one-process server (HOST/PORT/ADDR, DATA_DIR, SMTP_* from the environment)
#   make test                      what CI runs: the tools (installed when missing and
#                                  possible, scripts/install-deps.sh), gofmt check, vet,
#                                  race tests, CDK checks, cfn-lint
#   make synth                     the CDK app's CloudFormation, in infra/cdk/cdk.out/
#   make invoke FN=tracking EVENT=events/tracking-redirect.json
#                                  run one Lambda function locally with one event
#
# `sam build` calls the build-<LogicalId> targets (BuildMethod: makefile) with
# ARTIFACTS_DIR set; run by hand they write to .aws-sam/make/<LogicalId>/.

SHELL := /bin/bash
.DEFAULT_GOAL := help

GO ?= go

# Lambda: provided.al2023 on arm64, a static binary named bootstrap.
LAMBDA_ENV   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
# Output directory of a build-<LogicalId> target: SAM's, or a local one.
artifacts = $(or $(ARTIFACTS_DIR),$(CURDIR)/.aws-sam/make/$(1))

# Fuzz targets run by `make fuzz`, as <package>:<FuzzFunc>.
FUZZ_TARGETS ?= ./internal/eventfile:FuzzExpand ./internal/httpapi:FuzzRequestBodies ./internal/httpapi:FuzzQueries
FUZZTIME ?= 30s

# The CDK app: its own Go module (so the functions' builds never see the CDK).
CDK_DIR := infra/cdk
# jsii (the CDK's Go bindings) runs the CDK in a node child process; node 20
# is end-of-life for it and says so in a banner on every run. Node 20 is what
# our machines have: the banner is silenced, not the version changed.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20

# Go files to format-check (not generated or fetched trees).
GOFILES_CMD := find . -name '*.go' -not -path './.git/*' -not -path './.aws-sam/*' \
	-not -path '*/node_modules/*' -not -path '*/cdk.out/*' -print0

.PHONY: deps run-aws help build build-IdentityFunction build-ProgramsFunction build-TrackingFunction \
	build-CommissionsFunction build-IntegrationsFunction build-PartnersFunction build-PortalFunction build-StreamRouterFunction build-CommissionCalculatorFunction \
	build-PeriodCloseFunction build-AnalyticsFunction build-AnalyticsRollupFunction build-WebhookDispatcherFunction build-WebFunction \
	build-WebPartnersFunction build-WebAdminFunction build-WebPortalFunction lambda run demo test tools fmt-check vet test-go test-cdk synth cfn-lint lint invoke bench fuzz clean

help: ## List the targets
	@echo 'Usage: make <target> [VAR=value ...]'
	@echo
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z0-9_-]+:.*## / { printf "  %-24s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## Compile every package of the module (go build ./...)
	$(GO) build ./...

build-IdentityFunction: ## SAM: build functions/identity into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,IdentityFunction)/bootstrap ./functions/identity

build-ProgramsFunction: ## SAM: build functions/programs into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,ProgramsFunction)/bootstrap ./functions/programs

build-TrackingFunction: ## SAM: build functions/tracking into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,TrackingFunction)/bootstrap ./functions/tracking

build-CommissionsFunction: ## SAM: build functions/commissions into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,CommissionsFunction)/bootstrap ./functions/commissions

build-IntegrationsFunction: ## SAM: build functions/integrations into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,IntegrationsFunction)/bootstrap ./functions/integrations

build-PartnersFunction: ## SAM: build functions/partners into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,PartnersFunction)/bootstrap ./functions/partners

build-PortalFunction: ## SAM: build functions/portal into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,PortalFunction)/bootstrap ./functions/portal

build-StreamRouterFunction: ## SAM: build functions/stream-router into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,StreamRouterFunction)/bootstrap ./functions/stream-router

build-CommissionCalculatorFunction: ## SAM: build functions/commission-calculator into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,CommissionCalculatorFunction)/bootstrap ./functions/commission-calculator

build-PeriodCloseFunction: ## SAM: build functions/period-close into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,PeriodCloseFunction)/bootstrap ./functions/period-close

build-AnalyticsFunction: ## SAM: build functions/analytics into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,AnalyticsFunction)/bootstrap ./functions/analytics

build-AnalyticsRollupFunction: ## SAM: build functions/analytics-rollup into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,AnalyticsRollupFunction)/bootstrap ./functions/analytics-rollup

build-WebhookDispatcherFunction: ## SAM: build functions/webhook-dispatcher into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,WebhookDispatcherFunction)/bootstrap ./functions/webhook-dispatcher

build-WebFunction: ## SAM: build functions/web into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,WebFunction)/bootstrap ./functions/web

build-WebPartnersFunction: ## SAM: build functions/web-partners into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,WebPartnersFunction)/bootstrap ./functions/web-partners

build-WebAdminFunction: ## SAM: build functions/web-admin into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,WebAdminFunction)/bootstrap ./functions/web-admin

build-WebPortalFunction: ## SAM: build functions/web-portal into $(ARTIFACTS_DIR)/bootstrap
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(call artifacts,WebPortalFunction)/bootstrap ./functions/web-portal

lambda: build-IdentityFunction build-ProgramsFunction build-TrackingFunction build-CommissionsFunction build-IntegrationsFunction \
	build-PartnersFunction build-PortalFunction build-StreamRouterFunction build-CommissionCalculatorFunction build-PeriodCloseFunction \
	build-AnalyticsFunction build-AnalyticsRollupFunction build-WebhookDispatcherFunction build-WebFunction \
	build-WebPartnersFunction build-WebAdminFunction build-WebPortalFunction ## Build every Lambda binary (linux/arm64) under .aws-sam/make/

run: ## Run the one-process server on loopback (honours HOST/PORT/ADDR, DATA_DIR, SMTP_*)
	$(GO) run ./infra/local

run-aws: deps ## Run the one-process server on the AWS adapters against local emulators (DynamoDB Local, SQS, SES)
	$(GO) run ./infra/local -aws

demo: ## Run the one-process server with demo data
	$(GO) run ./infra/local -demo

test: tools ## Everything CI checks: the tools first, then gofmt, vet, race tests, CDK checks, cfn-lint
	@$(MAKE) --no-print-directory fmt-check vet test-go test-cdk cfn-lint

# First, in seconds: every tool the tests need, installed when missing and
# this machine allows it, else one message listing each with its install
# command (and nothing else runs).
tools: ## Check the tools make test needs; install the missing ones where possible (scripts/install-deps.sh)
	@scripts/install-deps.sh

fmt-check: ## Fail if any Go file is not gofmt-formatted
	@out="$$($(GOFILES_CMD) | xargs -0 -r gofmt -l)"; \
	if [ -n "$$out" ]; then echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$out"; exit 1; fi; \
	echo "gofmt: ok"

vet: ## go vet ./... (the root module and the CDK app's)
	$(GO) vet ./...
	cd $(CDK_DIR) && $(GO) vet .

deps: infra/local/node_modules/.package-lock.json ## Install the pinned npm emulators (npm ci --prefix infra/local)

# npm ci again whenever the lock file changes; the stamp is npm's own.
infra/local/node_modules/.package-lock.json: infra/local/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is not installed: install Node 20+ (the emulators come from npm)" >&2; exit 1; }
	npm ci --prefix infra/local --no-audit --no-fund
	@touch $@

# -timeout: a package's whole run may take longer than go test's default
# 10 minutes on a busy 2-core machine under the race detector (the HTTP
# API's suite starts DynamoDB Local and walks every route for every role).
test-go: deps ## go test -race -count=1 -timeout 30m ./...
	$(GO) test -race -count=1 -timeout 30m ./...

# The CDK app's tests, one package (one jsii runtime, one synthesis): the
# assertions, cdk-nag, cfn-lint on the synthesized template and the parity
# with template.yaml. `go test ./...` above does not enter infra/cdk (its own
# module); `.` rather than `./...` here, as the CDK CLI's node_modules holds
# Go templates that are not Go. No -race: it would rebuild the CDK's very
# large generated bindings with the race detector, for tests that run no
# concurrent code of ours.
test-cdk: ## CDK app: assertions, cdk-nag, cfn-lint of its synth, parity with template.yaml
	cd $(CDK_DIR) && $(GO) test -count=1 .

synth: lambda ## The CDK app's CloudFormation in infra/cdk/cdk.out/ (functions built first), cfn-linted
	@command -v cfn-lint >/dev/null 2>&1 || { \
		echo "cfn-lint is not installed: pip install cfn-lint" >&2; exit 1; }
	rm -rf $(CDK_DIR)/cdk.out
	cd $(CDK_DIR) && CDK_OUTDIR=cdk.out $(GO) run .
	@# W3005 (DependsOn already implied by a GetAtt) is CDK's own: each function depends on its role.
	cfn-lint --ignore-checks W3005 -- $(CDK_DIR)/cdk.out/*.template.json

cfn-lint: ## Lint template.yaml (SAM transform included)
	@command -v cfn-lint >/dev/null 2>&1 || { \
		echo "cfn-lint is not installed: pip install cfn-lint   (it lints template.yaml offline)" >&2; exit 1; }
	cfn-lint template.yaml

lint: fmt-check vet cfn-lint ## Static checks only: gofmt, vet, cfn-lint

invoke: ## Run one function with one event: make invoke FN=tracking EVENT=events/tracking-redirect.json [TIMEOUT=30s]
	@if [ -z "$(FN)" ] || [ -z "$(EVENT)" ]; then \
		echo "usage: make invoke FN=<function> EVENT=<events/file.json> [TIMEOUT=30s]" >&2; \
		echo "       placeholders like \$${TOKEN} or \$${CODE} in the event come from the environment" >&2; \
		exit 2; fi
	$(GO) run ./infra/local/invoke -fn '$(FN)' -event '$(EVENT)' $(if $(TIMEOUT),-timeout '$(TIMEOUT)')

bench: ## Run the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz: ## Fuzz each of FUZZ_TARGETS (pkg:FuzzFunc) for FUZZTIME
	@if [ -z "$(strip $(FUZZ_TARGETS))" ]; then echo "fuzz: FUZZ_TARGETS is empty, nothing to do"; exit 0; fi
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg="$${t%%:*}"; fn="$${t##*:}"; \
		echo "$(GO) test -run '^\$$' -fuzz '^$$fn\$$' -fuzztime $(FUZZTIME) $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done

clean: ## Remove build outputs
	rm -rf .aws-sam $(CDK_DIR)/cdk.out

.PHONY: load throughput
load: throughput
throughput: ## Throughput of redirect + conversion, product vs a bare Go server, on loopback (THROUGHPUT_DURATION=10s THROUGHPUT_CONCURRENCY=16)
	scripts/throughput.sh
