"""eBPF maps with the kernel's semantics, for the reference interpreter (one map family per module);
`contents` is the map-contents JSON format (`--maps-in` / `--maps-out`)."""
