# A thin front for Meson: the README's two commands (./run.sh, ./test.sh)
# and the CI script call these targets.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz

C_FILES = $(shell git ls-files '*.c' '*.h' ':!:tests/fixtures' 2>/dev/null)

.PHONY: all deps build run test asan bench fuzz fmt lint clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The main job on the embedded defaults: the server, SQLite under ./data.
run: build
	$(BUILD)/ampel serve

test: build
	meson test -C $(BUILD) --print-errorlogs

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs

bench: build
	BUILD_DIR=$(BUILD) bash bench/run.sh
	BUILD_DIR=$(BUILD) bash bench/run-pipeline.sh
	BUILD_DIR=$(BUILD) bash bench/run-server.sh

# Short libFuzzer runs of every target over its seed corpus.
fuzz:
	[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(FUZZ_BUILD)
	bash fuzz/run.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-20}

fmt:
	clang-format -i $(C_FILES)

lint:
	@echo "clang-format --dry-run on $(words $(C_FILES)) files"
	@clang-format --dry-run -Werror $(C_FILES)
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem --include=/usr/include/jansson.h \
		-I src -D_GNU_SOURCE src

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
