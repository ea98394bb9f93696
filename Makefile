# JITNIC top-level Makefile.
#   make SIM=icarus          set up, build the XDP programs, run the cocotb RTL regression (main job)
#   make SIM=verilator       the same regression on Verilator
#   make test                set up, build, run every test (Python unit/property/conformance/kernel + cocotb)
# Other targets: setup, programs, lint, header, bench, synth, results, survey, waves, clean (see README).

SHELL := /bin/bash
SIM ?= icarus
POLICY ?=
N_ENTRIES ?=
TEST ?=
WAVES ?= 0
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

VENV := .venv
PY := $(VENV)/bin/python
BUILD := build
PROG_SRCS := $(wildcard programs/*.c)
PROG_OBJS := $(patsubst programs/%.c,$(BUILD)/programs/%.o,$(PROG_SRCS))
BPF_CFLAGS := -O2 -g -target bpf -Wall -Werror -I/usr/include/$(shell uname -m)-linux-gnu

# System tools the project needs: command -> Debian package.
# Verilator itself comes from requirements.txt (Debian's 5.006 is for `make lint` only); its FST
# writer needs liblz4-dev and zlib, and ccache compiles its runtime once for every parameter set.
# gtkwave views the FSTs; its fst2vcd lets tb/top/test_waves.py read signal names from them.
TOOLS := iverilog:iverilog vvp:iverilog clang:clang llvm-objdump:llvm bpftool:bpftool verilator:verilator ccache:ccache fst2vcd:gtkwave
APT_PKGS := iverilog clang llvm libbpf-dev bpftool verilator yosys ccache liblz4-dev zlib1g-dev gtkwave

.PHONY: all sim test setup tools venv programs lint header bench synth results survey waves clean

all: sim

## ---- set-up --------------------------------------------------------------------------------
setup: tools venv

tools:
	@missing=""; \
	for t in $(TOOLS); do cmd=$${t%%:*}; pkg=$${t##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	[ -f /usr/include/bpf/bpf_helpers.h ] || missing="$$missing libbpf-dev"; \
	[ -f /usr/include/lz4.h ] || missing="$$missing liblz4-dev"; \
	[ -f /usr/include/zlib.h ] || missing="$$missing zlib1g-dev"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	  else \
	    echo "missing tools:$$missing"; \
	    echo "run: sudo apt-get install -y $(APT_PKGS)"; exit 1; \
	  fi; \
	fi

venv: $(VENV)/.stamp

$(VENV)/.stamp: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

## ---- XDP programs ------------------------------------------------------------------------------
programs: $(PROG_OBJS)

$(BUILD)/programs/%.o: programs/%.c $(wildcard programs/*.h) | tools
	@mkdir -p $(dir $@)
	clang $(BPF_CFLAGS) -c $< -o $@

## ---- main job and tests ------------------------------------------------------------------------
sim: setup programs
	$(PY) -m tb.regress --sim $(SIM) $(if $(POLICY),--policy $(POLICY)) $(if $(N_ENTRIES),--entries $(N_ENTRIES)) --waves $(WAVES) $(if $(TEST),--test "$(TEST)")

test: setup programs
	$(PY) -m pytest -n $(JOBS) -q -rs tests tb

## ---- tools for developers ----------------------------------------------------------------------
lint:
	verilator --lint-only -Wall -Irtl --top-module jitnic_top rtl/*.v

header: venv
	$(PY) -m jit.nic.encoding --write rtl/jitnic_abi.vh

# rtl/jitnic.gtkw (the GTKWave layout at the default parameters) and rtl/jitnic_actions.gtkwf
waves: venv
	$(PY) -m tb.common.waves

bench: setup programs
	$(VENV)/bin/jitnic bench

# writes docs/synth.json (commit that); CONFIGS=small4,small,default,blocks picks configurations;
# HIER=1 maps with the module hierarchy kept (rows NAME-hier: hours faster at the defaults)
synth: setup
	$(PY) -m tools.synth --record $(if $(CONFIGS),--configs $(CONFIGS)) $(if $(HIER),--hier)

results: setup programs
	$(PY) -m tools.results

# Real XDP programs from Debian's kernel source package under the interpreter and the kernel
# (docs/survey.md); as root it installs linux-source-6.1 if missing.
survey: setup
	@[ -f /usr/src/linux-source-6.1.tar.xz ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.1 >/dev/null; \
	  else echo "run: sudo apt-get install -y linux-source-6.1"; exit 1; fi; }
	$(PY) -m tools.survey --write

clean:
	rm -rf $(BUILD) sim_build results.xml .pytest_cache
