# Thin wrapper over packaging/setup.sh, CMake and CTest; see README.md.
BUILD ?= build
JOBS ?= $(shell nproc)
CLI = $(BUILD)/app/quantscape-cli

.PHONY: setup configure build run demo test bench sanitize

setup:
	bash packaging/setup.sh

configure: setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The main job: the desktop window with the demo preset loaded where there is a display, the
# headless demo (float ResNet-20, then LSQ W4A4, on Fashion-MNIST) where there is none.
run: build
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  $(BUILD)/app/quantscape --preset demo-float; \
	else \
	  echo "no display: running the headless demo (quantscape-cli demo)"; \
	  $(CLI) demo; \
	fi

demo: build
	$(CLI) demo

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	bash tests/benchmarks/run_all.sh $(BUILD)

# The test suite built with AddressSanitizer and UndefinedBehaviorSanitizer (CMake option
# QS_SANITIZE) in its own folder. Leak detection is off: the uninstrumented Debian libraries
# (Qt, LibTorch, VTK, OpenMP) keep allocations alive until exit, which LeakSanitizer reports.
sanitize: setup
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQS_SANITIZE=ON \
	  -DQS_BUILD_BENCHMARKS=OFF
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)
