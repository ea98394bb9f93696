"""JITNIC: an eBPF/XDP trace JIT shared between a host CPU and a smartNIC trace cache."""
