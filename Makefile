# The two commands: `make run` and `make test`. Both install what is missing (Debian
# packages, as root), start PostgreSQL and Redis under ./var, and go from there.
SHELL := /bin/bash
GO    ?= go
BIN   := var/bin/tandem
export TANDEM_VAR_DIR ?= $(CURDIR)/var

.PHONY: run test bench faults build deps stack stop vet fmt-check gen gen-check lint clean-var help

help:
	@echo "make run    install what is missing, start PostgreSQL + Redis under ./var, migrate, seed, serve"
	@echo "make test   install, start the stack, vet, check generated code, go test -race ./..."
	@echo "make bench  benchmarks (prints a table; not part of make test)"
	@echo "make faults fault experiments on a stack of their own (kill -9, PostgreSQL crash, Redis loss)"
	@echo "make stack  start PostgreSQL + Redis only;  make stop  stop them"

# var/go.mod keeps the Go tool out of ./var: ./... would otherwise walk a PostgreSQL data
# directory whose files come and go while tests run.
var/go.mod:
	@mkdir -p var && printf 'module ignore\n' > $@

build: var/go.mod
	@$(GO) build -o $(BIN) ./cmd/tandem

deps:
	@deploy/dev/install.sh postgres redis

run: deps build
	@exec $(BIN) dev

stack: deps build
	@$(BIN) stack up

stop: build
	@$(BIN) stack down

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './var/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

lint:
	$(GO) tool staticcheck ./...

# sqlc generates the query code from the *.sql files; it is committed, and `gen-check`
# fails when it is not what the current queries and migrations generate.
gen:
	$(GO) tool sqlc generate

gen-check:
	@$(GO) tool sqlc diff || { echo "generated code is stale: run 'make gen' and commit"; exit 1; }

test: build
	@deploy/dev/install.sh postgres redis chromium
	@$(BIN) stack up >/dev/null
	@$(MAKE) --no-print-directory fmt-check vet gen-check lint
	$(GO) test -race -count=1 -timeout 14m ./...

bench: deps build
	@$(BIN) stack up >/dev/null
	@deploy/bench/run.sh | tee var/bench.md

# Fault experiments: their own PostgreSQL and Redis under var/faults (ports 54339 and
# 63809), never the shared stack; prints a table and fails unless every effect is exactly once.
faults: deps build
	@$(BIN) faults | tee var/faults.md

clean-var: stop
	rm -rf var
