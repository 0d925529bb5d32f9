# cogmail — see README.md. Every target works on a fresh machine with Go 1.26.
GO        ?= go
GOARCH_LAMBDA ?= arm64
FUNCTIONS := ingest dispatch events
DIST      := dist
LDFLAGS   := -s -w

.PHONY: all build run test bench bench-go bench-coldstart cost cost-doc lint fuzz clean help

all: lint test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

run: ## the local stack on embedded defaults: sample events through ingest (no AWS account, no docker); ADDR=127.0.0.1:18025 for another port
	$(GO) run ./cmd/cogmail local --once $(if $(ADDR),--addr $(ADDR))

test: ## every test, integration tests included (moto_server is used when installed)
	$(GO) test -count=1 -timeout 20m ./...

# The packages that run goroutines against each other: dispatch, the local SQS
# endpoint and its poller, the local stack, the DLQ tools, idempotency and the
# AWS HTTP client.
RACE_PKGS := ./pkg/dispatch/... ./pkg/idempotency/... ./pkg/awsclient/... ./internal/local/sqslocal/... \
	./internal/local/eventsource/... ./internal/local/localstack/... ./internal/ops/dlq/...

.PHONY: test-race stress-test
test-race: ## the concurrent packages under the race detector
	$(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)

stress-test: ## make test three times in a row while a bounded CPU hog keeps every core busy (it stops by itself)
	@mkdir -p $(DIST)
	$(GO) build -o $(DIST)/cpuhog ./internal/tools/cpuhog
	@$(DIST)/cpuhog -for 90m & hog=$$!; trap 'kill $$hog 2>/dev/null' EXIT; \
	for i in 1 2 3; do \
	  echo "stress-test: make test, run $$i of 3, every core busy"; \
	  $(MAKE) --no-print-directory test || { echo "stress-test: run $$i failed"; exit 1; }; \
	done; echo "stress-test: 3 of 3 passed"

build: ## each function as a bootstrap for provided.al2023 (linux/$(GOARCH_LAMBDA)), zipped under dist/
	@mkdir -p $(DIST)
	@for f in $(FUNCTIONS); do \
	  if [ -d functions/$$f ] && ls functions/$$f/*.go >/dev/null 2>&1; then \
	    echo "build $$f ($(GOARCH_LAMBDA))"; \
	    CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_LAMBDA) $(GO) build -trimpath -tags lambda.norpc -ldflags='$(LDFLAGS)' \
	      -o $(DIST)/$$f/bootstrap ./functions/$$f || exit 1; \
	    $(GO) run ./internal/tools/lambdazip $(DIST)/$$f.zip $(DIST)/$$f/bootstrap || exit 1; \
	  fi; \
	done
	@ls -l $(DIST)/*.zip $(DIST)/*/bootstrap

.PHONY: package deploy deploy-test
package: build ## dist/template.yaml: the SAM stack pointing at the zips in dist/ (no AWS account or SAM CLI needed)
	$(GO) run ./infra/cmd/pack -template infra/template.yaml -dist $(DIST)

deploy-test: ## the stack deployed without an account: make package, SAM translator, create_stack on moto_server, both bootstraps under aws-lambda-rie (docs/deploy.md)
	$(GO) test -count=1 -timeout 20m -run '^TestDeploy$$' -v ./infra/deploytest

deploy: package ## sam deploy of dist/template.yaml: make deploy PARAMS="UserPoolId=... SenderEmail=..." [STACK=cogmail] [REGION=...] (docs/deploy.md)
	@test -n "$(PARAMS)" || { echo 'deploy: set PARAMS, e.g. make deploy PARAMS="UserPoolId=eu-west-1_AbCdEf123 SenderEmail=no-reply@example.com" (docs/deploy.md)'; exit 2; }
	sam deploy --template-file $(DIST)/template.yaml --stack-name $(or $(STACK),cogmail) \
	  $(if $(REGION),--region $(REGION)) --resolve-s3 --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND \
	  --no-fail-on-empty-changeset --parameter-overrides $(PARAMS)

bench: bench-go bench-coldstart ## every benchmark; figures go into docs/benchmarks.md

bench-go: ## Go benchmarks (ns/op, allocs/op)
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

bench-coldstart: ## cold start of the ingest bootstrap vs the reference Node handler, and binary sizes
	$(GO) run ./bench/coldstart

cost: ## monthly AWS cost of 10k, 1M and 10M emails from freshly measured figures (docs/cost.md)
	$(GO) run ./bench/cost

cost-doc: ## measure anew and rewrite the figures and tables of docs/cost.md
	$(GO) run ./bench/cost -write docs/cost.md

FUZZTIME ?= 30s
# package:target pairs: every parser of outside input.
FUZZ_TARGETS := pkg/cognito:FuzzParse pkg/envelope:FuzzParse pkg/codecrypt:FuzzDecrypt \
  internal/local/sqslocal:FuzzHandler pkg/recipient:FuzzValidateAddress pkg/render:FuzzNormalizeLocale \
  pkg/render:FuzzOneLine pkg/provider/internal/classify:FuzzRetryAfter \
  pkg/provider/internal/redact:FuzzReason pkg/provider/smtp/smtpfake:FuzzParse \
  internal/local/ssmlocal:FuzzServeHTTP pkg/mailevent:FuzzParseSendGrid pkg/mailevent:FuzzParseMailgun \
  pkg/mailevent:FuzzParseSES

fuzz: ## each fuzz target for FUZZTIME (30s); the seed corpora also run in `make test`
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$pkg $$fn"; \
	  $(GO) test ./$$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

lint: ## go vet + gofmt
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

clean: ## remove build output
	rm -rf $(DIST) preview
