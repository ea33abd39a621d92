# make run    install what is missing, build, serve the demo flow on :5060
# make test   install what is missing, vet, lint and run every test
# make bench  load benchmark (SIPp at 100 and 500 calls), prints figures
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin

GO       ?= go
BIN      := bin/switchboard
# Speech backends compiled in: sphinx (Debian's pocketsphinx) by default;
# add whisper where libwhisper is built (README, "Speech recognition: whisper").
TAGS     ?= sphinx
CONFIG   ?= configs/switchboard.yaml
STATICCHECK_VERSION := v0.8.2

.PHONY: all build run test vet lint unit bench deps test-deps clean

all: build

build: deps
	$(GO) build -tags "$(TAGS)" -o $(BIN) ./cmd/switchboard

deps:
	@.ci/install-deps run

test-deps:
	@.ci/install-deps test

run: deps build
	./$(BIN) serve --config $(CONFIG)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet -tags "$(TAGS)" ./...

lint: vet
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	staticcheck -tags "$(TAGS)" ./...

# The real-time tests (real SIP calls against a real server) run one
# package at a time, so that they do not share the two cores with each other.
REALTIME := ./internal/e2e ./cmd/switchboard

test: test-deps build lint
	$(GO) test -tags "$(TAGS)" -race -count=1 -timeout 12m $$($(GO) list -tags "$(TAGS)" ./... | grep -v -e /internal/e2e -e /cmd/switchboard)
	$(GO) test -tags "$(TAGS)" -race -count=1 -timeout 12m -p 1 $(REALTIME)

unit:
	$(GO) test -tags "$(TAGS)" -short -count=1 ./...

bench: test-deps build
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench . -benchmem ./media/ ./internal/dsp/ ./asr/...
	bench/load.sh

clean:
	rm -rf bin
