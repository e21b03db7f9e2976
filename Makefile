# Portal: `make run` serves http://127.0.0.1:8080, `make test` runs every test.
SWIFT    ?= swift
BIN      := .build/release/portal
DB       ?= var/portal.sqlite
HOST     ?= 127.0.0.1
PORT     ?= 8080

# System packages the build and the tests need (Debian names).
DEPS       := libsqlite3-dev libssl-dev zlib1g-dev pkg-config libqrencode-dev libcurl4-openssl-dev libzxcvbn-dev iso-codes
BENCH_DEPS := wrk nginx-light curl bc python3
# The browser tests (Tests/Browser): headless Chromium driven by Python selenium.
BROWSER_DEPS := chromium chromium-driver fonts-liberation python3 python3-pip
# The `openssl` command: certificate, TLS and app tests make their certificates with it.
TEST_DEPS  := openssl sqlite3
PYTHON     := python3

.PHONY: deps build-deps test-deps bench-deps build run migrate test bench clean

# Everything: what building and running need, and what the tests need (CI runs this).
deps: build-deps test-deps

build-deps:
	@scripts/apt-install $(DEPS)

test-deps:
	@scripts/apt-install $(BROWSER_DEPS) $(TEST_DEPS)
	@PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
		$(PYTHON) -m pip install -q -r Tests/Browser/requirements.txt -r Tests/Contract/requirements.txt -r Tests/requirements.txt -r Tests/OAuth/requirements.txt

bench-deps:
	@scripts/apt-install $(BENCH_DEPS)

build: build-deps
	$(SWIFT) build -c release --product portal

run: build
	@mkdir -p var
	$(BIN) serve --host $(HOST) --port $(PORT) --db $(DB)

migrate: build
	$(BIN) migrate --db $(DB)

test: deps
	scripts/check-boundaries
	$(SWIFT) test
	SWIFT=$(SWIFT) $(PYTHON) Tests/Browser/run.py
	SWIFT=$(SWIFT) $(PYTHON) Tests/Contract/run.py

bench: build-deps bench-deps build
	scripts/bench

clean:
	rm -rf .build .build-bench var
