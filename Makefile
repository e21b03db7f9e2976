# Portal: `make run` serves http://127.0.0.1:8080, `make test` runs every test.
SWIFT    ?= swift
BIN      := .build/release/portal
DB       ?= var/portal.sqlite
HOST     ?= 127.0.0.1
PORT     ?= 8080

# System packages the build and the tests need (Debian names).
DEPS       := libsqlite3-dev libssl-dev zlib1g-dev pkg-config libqrencode-dev libcurl4-openssl-dev cracklib-runtime
BENCH_DEPS := wrk nginx-light curl bc python3

.PHONY: deps bench-deps build run migrate test bench clean

deps:
	@scripts/apt-install $(DEPS)

bench-deps:
	@scripts/apt-install $(BENCH_DEPS)

build: deps
	$(SWIFT) build -c release --product portal

run: build
	@mkdir -p var
	$(BIN) serve --host $(HOST) --port $(PORT) --db $(DB)

migrate: build
	$(BIN) migrate --db $(DB)

test: deps
	$(SWIFT) test

bench: deps bench-deps build
	scripts/bench

clean:
	rm -rf .build .build-bench var
