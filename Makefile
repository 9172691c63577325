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

# meson's setup report is long, so it goes to a log that is printed whenever setup fails;
# ninja --quiet prints nothing but the failing commands and their errors.
# A file added to or removed from src/<layer>/ changes that directory's time: meson lists the
# layers' sources when it configures (scripts/list-sources.py), so it configures again.
build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --buildtype=debugoptimized \
	  >$(BUILD).setup.log 2>&1 || { cat $(BUILD).setup.log; rm -rf $(BUILD); exit 1; }
	@if [ -n "$$(find src -type d -newer $(BUILD)/build.ninja)" ]; then \
	  meson setup --reconfigure $(BUILD) >$(BUILD).setup.log 2>&1 || { cat $(BUILD).setup.log; exit 1; }; fi
	@ninja -C $(BUILD) --quiet

run: DEPS_FLAGS = --runtime-only
run: build
	./$(BUILD)/streamhub serve $(ARGS)

# A build directory configured by `make run` (no cmocka then) is reconfigured once the test
# packages are installed, so the unit tests are built.
test: build
	@grep -q 'test_router' $(BUILD)/build.ninja || meson setup --reconfigure $(BUILD) \
	  >$(BUILD).setup.log 2>&1 || { cat $(BUILD).setup.log; exit 1; }
	@ninja -C $(BUILD) --quiet
	@bash tests/run-all.sh

bench: build
	@bash bench/run.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
