# make run    install what is missing, build, serve the demo flow on :5060
# make test   install what is missing, vet, lint and run every test
# make bench  load benchmark (SIPp at 100 and 500 calls), prints figures
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin

GO       ?= go
BIN      := bin/switchboard
CONFIG   ?= configs/switchboard.yaml
STATICCHECK_VERSION := v0.8.2

.PHONY: all build run test vet lint unit bench deps test-deps clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/switchboard

deps:
	@.ci/install-deps run

test-deps:
	@.ci/install-deps test

run: deps build
	./$(BIN) serve --config $(CONFIG)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

lint: vet
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	staticcheck ./...

test: test-deps build lint
	$(GO) test -race -count=1 -timeout 12m ./...

unit:
	$(GO) test -short -count=1 ./...

bench: test-deps build
	$(GO) test -run '^$$' -bench . -benchmem ./media/ ./internal/dsp/
	bench/load.sh

clean:
	rm -rf bin
