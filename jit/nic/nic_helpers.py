"""The helpers a NIC trace may call, defined once: ids, names, budgeted executor cycles, and what
the NIC gives for the two helpers whose answer depends on the CPU (its CPU number, its random
stream).

The table drives the commit check (jit/nic/validate.py refuses any other `call`, and generates the
allowed ids and costs into rtl/jitnic_abi.vh), the tracer (a path calling any other helper stays
on the host with `nic_helper_reason`'s reason) and the executor (jit/nic/executor.py runs each one
with the host helper of the same id from jit/ebpf/helpers.py, plus the NIC's limits).
"""
from __future__ import annotations

from dataclasses import dataclass

from jit.ebpf.helper_ids import HELPER_NAMES, helper_name
from jit.nic import encoding as enc


@dataclass(frozen=True)
class NicHelper:
    id: int
    cost: int        # executor cycles budgeted at commit (an upper bound of what the call takes)

    @property
    def name(self) -> str:
        """The kernel's name (jit/ebpf/helper_ids.py, the one table of helper names)."""
        return "bpf_" + HELPER_NAMES[self.id]


# Costs: a map operation waits for the lookup unit (hash of up to 64 key bytes, one probe per
# bucket slot); copies move 8 bytes a cycle over the largest length the call can take.
COST_MAP_OP = 24
COST_SIMPLE = 2
COST_CSUM = 2 + 512 // 8          # csum_diff: at most 512 bytes (the kernel's limit)
COST_BYTES = 2 + enc.PKT_BYTES // 8

NIC_HELPERS: dict[int, NicHelper] = {h.id: h for h in (
    NicHelper(1, COST_MAP_OP),  # map_lookup_elem
    NicHelper(2, COST_MAP_OP),  # map_update_elem
    NicHelper(3, COST_MAP_OP),  # map_delete_elem
    NicHelper(5, COST_SIMPLE),  # ktime_get_ns
    NicHelper(7, COST_SIMPLE),  # get_prandom_u32
    NicHelper(8, COST_SIMPLE),  # get_smp_processor_id
    NicHelper(12, COST_SIMPLE),  # tail_call: a guard on the prog_array slot
    NicHelper(23, COST_SIMPLE),  # redirect
    NicHelper(28, COST_CSUM),  # csum_diff
    NicHelper(44, COST_SIMPLE),  # xdp_adjust_head
    NicHelper(51, COST_MAP_OP),  # redirect_map
    NicHelper(65, COST_SIMPLE),  # xdp_adjust_tail
    NicHelper(189, COST_BYTES),  # xdp_load_bytes
    NicHelper(190, COST_BYTES),  # xdp_store_bytes
)}
MAP_HELPERS = frozenset({1, 2, 3, 51}) # counted in MAP_OPS (redirect_map reads the devmap)
MAP_WRITE_HELPERS = frozenset({2, 3})  # each takes a write-buffer entry
TAIL_CALL = 12

for _h in NIC_HELPERS.values():        # the names come from the kernel's list: one spelling
    assert helper_name(_h.id).startswith(_h.name), (_h, helper_name(_h.id))


def nic_helper_reason(helper_id: int) -> str | None:
    """None if the NIC runs this helper, else why a path calling it stays on the host."""
    if helper_id in NIC_HELPERS:
        return None
    return f"helper {helper_name(helper_id)} is not in the NIC helper set"


class NicPrandom:
    """bpf_get_prandom_u32 on the NIC: the 32-bit Galois LFSR of jit/nic/encoding.py, stepped once
    per draw; a draw returns the state after the step. Seeded from REG_PRANDOM_SEED (0 loads
    LFSR_DEFAULT_SEED). Same interface as `random.Random` for the helper: `getrandbits(32)`.
    The state is part of a trace's transaction: a guard failure or fault restores it
    (`state`/`restore`), so the draws of committed traces form one stream."""

    def __init__(self, seed: int = 0):
        self.state = enc.lfsr_seed(seed)

    def getrandbits(self, bits: int) -> int:
        if bits != 32:
            raise ValueError("the NIC generator draws 32 bits")
        self.state = enc.lfsr_step(self.state)
        return self.state

    def restore(self, state: int) -> None:
        self.state = state


def verilog_defines() -> list[str]:
    """The helper set for rtl/jitnic_abi.vh: ids and budgeted costs."""
    lines = []
    for h in NIC_HELPERS.values():
        name = h.name.removeprefix("bpf_").upper()
        lines.append(f"`define HELPER_{name} 32'd{h.id}")
        lines.append(f"`define HELPER_COST_{name} {h.cost}")
    ids = " || ".join(f"(id) == 32'd{h.id}" for h in NIC_HELPERS.values())
    lines.append(f"`define NIC_HELPER_OK(id) ({ids})")
    return lines
