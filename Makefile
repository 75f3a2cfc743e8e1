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

## Fuzzing the parsers (SOAP envelope, VST JSON, OSCI MIME and envelope) with cargo-fuzz; FUZZ_SECONDS per target.
## Needs `cargo install cargo-fuzz` and a nightly toolchain (else RUSTC_BOOTSTRAP=1 on stable).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= soap_envelope vst_json osci_mime osci_envelope
fuzz:
	@command -v cargo-fuzz >/dev/null || { echo "make fuzz: install cargo-fuzz first (cargo install cargo-fuzz)" >&2; exit 2; }
	@if rustup toolchain list 2>/dev/null | grep -q nightly; then tc=+nightly; else tc=; export RUSTC_BOOTSTRAP=1; fi; \
	for t in $(FUZZ_TARGETS); do \
		echo "cargo $$tc fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS)"; \
		cargo $$tc fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

build:
	$(CARGO) build --release

fmt:
	$(CARGO) fmt --all
