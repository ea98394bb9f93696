"""The Linux kernel as an oracle, through bpf(2):

  syscall   the bpf(2) syscall, attribute layouts, `KernelError`
  program   `KernelProgram`: load an instruction list, run packets with BPF_PROG_TEST_RUN
  maps      `KernelMap`: create, fill, freeze, read back a map
  netns     `PrivateNetns`: a network namespace of the oracle's own (devmap ifindexes, FIB routes)
  objects   `KernelObject`: a loaded ELF object — maps created and filled from map-contents JSON,
            the program relocated and loaded (tail-call targets too), packets run, maps read back
  probe     `kernel_available()`: may this process load and run XDP programs?
"""
from jit.ebpf.kernel.syscall import KernelError
from jit.ebpf.kernel.program import (ETH_HLEN, XDP, KernelProgram, PacketRefused, VerifierError,
                                     encode_insns)
from jit.ebpf.kernel.probe import kernel_available

__all__ = ["ETH_HLEN", "XDP", "KernelError", "KernelProgram", "PacketRefused", "VerifierError",
           "encode_insns", "kernel_available"]
