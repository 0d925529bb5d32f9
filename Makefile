# cogmail — see README.md. Every target works on a fresh machine with Go 1.26.
GO        ?= go
GOARCH_LAMBDA ?= arm64
FUNCTIONS := ingest dispatch
DIST      := dist
LDFLAGS   := -s -w

.PHONY: all build run test bench bench-go bench-coldstart lint fuzz clean help

all: lint test

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

run: ## the local stack on embedded defaults: sample events through ingest (no AWS account, no docker)
	$(GO) run ./cmd/cogmail local --once

test: ## every test, integration tests included (moto_server is used when installed)
	$(GO) test -count=1 -timeout 20m ./...

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

bench: bench-go bench-coldstart ## every benchmark; figures go into docs/benchmarks.md

bench-go: ## Go benchmarks (ns/op, allocs/op)
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

bench-coldstart: ## cold start of the ingest bootstrap vs the reference Node handler, and binary sizes
	$(GO) run ./bench/coldstart

fuzz: ## each fuzz target for 30s
	$(GO) test ./pkg/cognito -run '^$$' -fuzz FuzzParse -fuzztime 30s
	$(GO) test ./pkg/envelope -run '^$$' -fuzz FuzzParse -fuzztime 30s

lint: ## go vet + gofmt
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

clean: ## remove build output
	rm -rf $(DIST) preview
