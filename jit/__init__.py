"""JITNIC: an eBPF/XDP trace JIT shared between a host CPU and a smartNIC trace cache.

The package reads by role; each subpackage depends only on those above it in this list
(docs/architecture.md, checked by tests/test_layout.py):

  ebpf      the eBPF toolchain: ISA, assembler, ELF loader, reference interpreter, kernel oracle
  traffic   workloads and packet captures
  nic       the NIC: ABI encoding, functional model, trace executor, replacement policies
  compiler  the miss path: tracer, path conditions, trace optimizer
  host      the host runtime: miss handler, run loop, sweeps
  cli       the `jitnic` command, benchmarks, the RTL engine (the only layer that may import `tb`)

`JitnicError` lives here, in the root, because every layer raises it: it is the base of every
user-facing error (one line, no traceback; the CLI prints it and exits with status 2).
"""


class JitnicError(Exception):
    """Base of all errors the project reports to a user."""
