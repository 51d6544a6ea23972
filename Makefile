# The two entry points are `make demo` and `make test`; both install what a
# fresh machine lacks first (see scripts/setup.sh).

GO ?= go
BIN := bin

.PHONY: all setup build demo test bench fuzz generate clean

all: build

setup:
	./scripts/setup.sh

build:
	$(GO) build -o $(BIN)/cloudabi-run ./cmd/cloudabi-run

$(BIN)/hello: examples/hello/hello.c setup
	./sdk/cloudabi-cc -o $@ examples/hello/hello.c

# Runs examples/hello with three `!fd stdout`: prints "Hello, world" three times.
demo: setup build $(BIN)/hello
	./$(BIN)/cloudabi-run $(BIN)/hello < examples/hello/hello.yaml

# The whole test suite, as CI runs it. Guest programs are compiled with
# clang-14, which must be present: CLOUDABI_REQUIRE_CLANG turns a missing
# compiler into a failure instead of skipped tests.
# As root, it then runs the tests again as nobody, with and without user
# namespaces (scripts/test-unprivileged.sh).
test: setup
	CLOUDABI_REQUIRE_CLANG=1 $(GO) vet ./...
	CLOUDABI_REQUIRE_CLANG=1 $(GO) test -count=1 ./...
	GO=$(GO) ./scripts/test-unprivileged.sh

# Benchmarks: guest system call cost against native write(2), and the
# start-up time of cloudabi-run for hello world.
bench: setup
	CLOUDABI_REQUIRE_CLANG=1 $(GO) test -run='^$$' -bench=. -benchtime=2s .

# Longer fuzzing than the seed-corpus runs `make test` does.
FUZZTIME ?= 5m
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzUnmarshal -fuzztime=$(FUZZTIME) ./argdata
	$(GO) test -run='^$$' -fuzz=FuzzRoundTrip -fuzztime=$(FUZZTIME) ./argdata
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./config
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./internal/loader
	CLOUDABI_REQUIRE_CLANG=1 $(GO) test -run='^$$' -fuzz=FuzzSyscalls -fuzztime=$(FUZZTIME) .

generate:
	$(GO) generate ./...

clean:
	rm -rf $(BIN) sdk/build
