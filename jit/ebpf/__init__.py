"""The eBPF toolchain: opcode table, assembler, ELF loader, reference interpreter and the Linux kernel
as an oracle. It knows nothing of NICs, traces or the host runtime."""
