# Thin wrapper over packaging/setup.sh, CMake and CTest; see README.md.
BUILD ?= build
JOBS ?= $(shell nproc)
CLI = $(BUILD)/app/quantscape-cli

.PHONY: setup configure build run demo test bench

setup:
	bash packaging/setup.sh

configure: setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The main job. Headless for now: the desktop window arrives with the GUI issue.
run: build
	$(CLI) demo

demo: run

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	bash tests/benchmarks/run_all.sh $(BUILD)
