# konform — the two commands a new user needs are `make run` and `make test` (see README.md).
CARGO ?= cargo

.PHONY: run test bench fuzz build fmt

## Start every simulator on loopback with a generated test PKI.
run:
	$(CARGO) run --release -- up

## The whole test suite (unit, golden, interop with OpenSSL and Python, CLI). `.ci/run` installs the tools first.
test:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "$(CARGO) nextest run --workspace"; \
		$(CARGO) nextest run --workspace; \
	else \
		echo "cargo-nextest not installed: falling back to cargo test"; \
		$(CARGO) test --workspace; \
	fi

## Benchmarks (release build, std::time, next to `openssl speed`). Never part of `make test`.
bench:
	$(CARGO) bench --workspace

## Fuzzing: no fuzz targets yet (a later issue adds them).
fuzz:
	@echo "make fuzz: no fuzz targets yet (a later issue adds them)" >&2; exit 2

build:
	$(CARGO) build --release

fmt:
	$(CARGO) fmt --all
