# Ferry's entry points. `make demo` runs the main job on a built-in default;
# `make test` runs every test. Both install what they need first (scripts/bootstrap.sh).
SHELL := /bin/bash

# Nix without a daemon, as root, and builds without a sandbox (tests build small closures).
export NIX_REMOTE := local
export NIX_CONFIG := sandbox = false
export LC_ALL := C.UTF-8

.PHONY: bootstrap build test test-unit demo clean

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	swift build

test: bootstrap
	swift build --build-tests
	swift test --skip-build

test-unit: bootstrap
	swift test --filter FerryCoreTests

demo: build
	scripts/demo.sh

clean:
	rm -rf .build demo-cache demo-work
