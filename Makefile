# Ferry's entry points. `make demo` runs the main job on a built-in default;
# `make test` runs every test. Both install what they need first (scripts/bootstrap.sh).
SHELL := /bin/bash

# Nix without a daemon, as root, with the settings in scripts/nix.conf.
export NIX_REMOTE := local
export NIX_CONFIG := $(file < scripts/nix.conf)
export LC_ALL := C.UTF-8

.PHONY: bootstrap build test test-unit fuzz bench demo clean

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	swift build

# Every test, then each fuzz target for 30 s (libFuzzer; a finding fails the run).
test: bootstrap
	swift build --build-tests
	swift test --skip-build
	scripts/fuzz.sh 30

# The fuzz targets for longer: FUZZ_SECONDS each (default 600).
fuzz: bootstrap
	scripts/fuzz.sh $${FUZZ_SECONDS:-600}

# Ferry beside nix copy and the hardware bounds, with peak RSS (bench/bench.sh: RUNS, XZ_RUNS, ...).
bench: bootstrap
	bench/bench.sh

test-unit: bootstrap
	swift test --filter FerryCoreTests

demo: build
	scripts/demo.sh

clean:
	rm -rf .build .build-fuzz demo-cache demo-work fuzz/findings
