"""The NIC: the ABI shared with the RTL (atom and trace encodings, registers, counters; generates
`rtl/jitnic_abi.vh`), the bit-exact functional model, the trace executor's semantics and the
replacement policies. A packet's path: match (model) -> execute (executor) -> output (model)."""
