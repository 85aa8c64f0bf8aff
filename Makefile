# redengine — the two commands that matter: `make run` and `make test`.
GO ?= go
export GOFLAGS := -buildvcs=false
FUZZTIME ?= 10s
STATICCHECK ?= v0.8.2
BIN := bin/redengine

.PHONY: run build test bench bench-eventstore stress fuzz vet lint fmt clean

build:
	$(GO) build -o $(BIN) ./cmd/redengine

## run: start the engine on the embedded default (SQLite in ./data) with demo data.
run: build
	REDENGINE_DEMO=$${REDENGINE_DEMO:-1} REDENGINE_DATA_DIR=$${REDENGINE_DATA_DIR:-./data} \
	REDENGINE_JWT_SECRET=$${REDENGINE_JWT_SECRET:-dev-secret-change-me-please-32b} \
	./$(BIN) serve

## test: every test; starts Mailpit (installing it if needed) for the mail tests.
test:
	@eval "$$(scripts/mailpit.sh start)" && \
	$(GO) test -race -count=1 -timeout 15m ./... ; rc=$$?; scripts/mailpit.sh stop; exit $$rc

## stress: long forms of the stress harnesses (20 SIGKILL cycles, 30 s load mix, conflicts, two
## nodes), then loadgen on the embedded store at saturation and at 1,000 commands/s.
stress:
	@eval "$$(scripts/mailpit.sh start)" && \
	REDENGINE_STRESS=1 $(GO) test -count=1 -timeout 60m -v ./stress/... ; rc=$$?; scripts/mailpit.sh stop; exit $$rc
	$(GO) run ./cmd/loadgen -self -duration 60s -concurrency 64
	$(GO) run ./cmd/loadgen -self -duration 60s -concurrency 64 -rate 1110

## fuzz: each fuzz target for FUZZTIME.
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

## bench: the Go benchmarks whose figures are in docs/benchmarks.md.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 -timeout 30m ./...

## bench-eventstore: the event store's figures of docs/benchmarks.md (5 s per benchmark).
bench-eventstore:
	$(GO) test -run='^$$' -bench=. -benchtime=5s -timeout 30m ./eventstore/sqlite/

vet:
	$(GO) vet ./...

## lint: go vet, then staticcheck (fetched from the Go module proxy on first use; not a dependency
## of the module).
lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
