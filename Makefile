# konform — a new user needs two commands: `make run` and `make test` (see README.md).
CARGO ?= cargo

# Python packages the tests need live in ./.venv when the system python3 lacks them (.ci/deps).
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: run test test-deps bench fuzz build fmt selftest

## Start every simulator on loopback with a generated test PKI.
run:
	$(CARGO) run --release -- up

## The whole suite: unit, golden, CLI, and interop with OpenSSL and Python `cryptography`.
## Installs missing test tools first (.ci/deps); CI runs the same via .ci/run.
test: test-deps
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "$(CARGO) nextest run --workspace"; \
		$(CARGO) nextest run --workspace; \
	else \
		echo "cargo-nextest not installed: falling back to cargo test"; \
		$(CARGO) test --workspace; \
	fi
	$(CARGO) run --quiet -- selftest

## The shipped scenario packs with the reference client (all pass) and with every defect (all caught).
selftest:
	$(CARGO) run --release --quiet -- selftest

test-deps:
	@.ci/deps

## Benchmarks (release build, one core, next to `openssl speed`). Never part of `make test`.
bench:
	$(CARGO) bench --workspace

## Fuzzing: no fuzz targets yet (a later issue adds them).
fuzz:
	@echo "make fuzz: no fuzz targets yet (a later issue adds them)" >&2; exit 2

build:
	$(CARGO) build --release

fmt:
	$(CARGO) fmt --all
