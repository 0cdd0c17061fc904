# Sluice — see README.md. Every target works with only Go and the module proxy.
GO        ?= go
STATICCHECK_VERSION := v0.8.2
DATA_DIR  ?= ./data

.PHONY: run build test test-compat test-race bench bench-e2e bench-gate fuzz lint format examples check version

## run: the edge with a dev vault in ./data and a dev admin key (printed on first start)
run:
	$(GO) run . serve --dev --data-dir $(DATA_DIR) --listen 127.0.0.1:8080

build:
	$(GO) build -o sluice .

## test: every test (unit, end-to-end over 127.0.0.1, process tests, fuzz seed corpora)
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...
	$(GO) test -count=1 -race -timeout 10m -run 'Concurrent|Race' ./server/ ./transforms/... ./store/...

## test-compat: the Basis Theory SDK compatibility suite: the official @basis-theory/node-sdk (pinned
## in compat/package-lock.json) against a real Sluice on 127.0.0.1; needs Node 20+ and npm
test-compat:
	$(GO) build -o compat/.build/sluice .
	cd compat && npm ci --no-audit --no-fund && SLUICE_BIN=$(CURDIR)/compat/.build/sluice node --test

test-race:
	$(GO) test -count=1 -race -short ./...

## bench: stage benchmarks with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

E2EFLAGS ?=

## bench-e2e: req/s, p50/p99 and CPU µs/request of Sluice vs a fasthttp passthrough (and nginx
## if installed), loopback, c=1 and c=32, 3 interleaved rounds; ~5-7 min; reported, not gated
bench-e2e:
	$(GO) run ./bench/cmd/e2e -go $(GO) $(E2EFLAGS)

GATEFLAGS ?=

## bench-gate: instructions per request of Sluice vs the passthrough (and nginx if installed)
## under callgrind, every scenario in one run, on one CPU; fails when a budget is missed; ~3-7 min; needs valgrind
bench-gate:
	$(GO) run ./bench/cmd/gate -go $(GO) $(GATEFLAGS)

## fuzz: every fuzz target for a short, bounded time each
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

format:
	gofmt -w .

examples:
	@if [ -x transforms/build-examples.sh ]; then transforms/build-examples.sh; else echo "no examples yet"; fi

## check: lint + format + tidy, then fail if anything changed
check: lint format
	$(GO) mod tidy
	git diff --exit-code

version:
	$(GO) run . version
