# StreamHub: the two commands a newcomer needs.
#   make run   installs missing Debian/npm packages, builds, starts `streamhub serve` on :8080
#   make test  installs what tests need, builds, runs every suite (unit, e2e on SQLite and
#              PostgreSQL, sanitizers, fuzzing) and ends with "N passed, N failed"
# The real build is Meson + Ninja; this file only strings the steps together.

BUILD ?= build
DEPS_FLAGS ?=

.PHONY: all deps build run test bench clean

all: build

deps:
	@bash scripts/deps.sh $(DEPS_FLAGS)

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --buildtype=debugoptimized >/dev/null
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

run: DEPS_FLAGS = --runtime-only
run: build
	./$(BUILD)/streamhub serve $(ARGS)

test: build
	@bash tests/run-all.sh

bench: build
	@bash bench/run.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
