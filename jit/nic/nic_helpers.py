"""The helpers a NIC trace may call, defined once: ids, names, budgeted executor cycles, and what
the NIC gives for the two helpers whose answer depends on the CPU (its CPU number, its random
stream).

The table drives the commit check (jit/nic/validate.py refuses any other `call`, and generates the
allowed ids and costs into rtl/jitnic_abi.vh), the tracer (a path calling any other helper stays
on the host with `nic_helper_reason`'s reason) and the executor (jit/nic/executor.py runs each one
with the host helper of the same id from jit/ebpf/helpers.py, plus the NIC's limits).

Two helper sets: "full" (every helper of the table: the model's v2 executor) and "rtl" (the `rtl`
column: what rtl/jitnic_exec.v implements, `RTL_HELPER_OK(id)` in the header). A NIC configured
with the RTL set (`NicConfig.helper_set`) keeps every path that calls another helper, or uses an
atomic other than add, on the host with `set_reason`'s named reason.
"""
from __future__ import annotations

from dataclasses import dataclass

from jit.ebpf.helper_ids import HELPER_NAMES, helper_name
from jit.nic import encoding as enc


@dataclass(frozen=True)
class NicHelper:
    id: int
    cost: int        # executor cycles budgeted at commit (an upper bound of what the call takes)
    rtl: bool = False  # rtl/jitnic_exec.v implements it (issue 10's RTL helper set)

    @property
    def name(self) -> str:
        """The kernel's name (jit/ebpf/helper_ids.py, the one table of helper names)."""
        return "bpf_" + HELPER_NAMES[self.id]


# Costs: a map operation waits for the lookup unit (hash of up to 64 key bytes, one probe per
# bucket slot); copies move 8 bytes a cycle over the largest length the call can take.
COST_MAP_OP = 24
COST_SIMPLE = 2
# csum_diff: at most 512 bytes (the kernel's limit); the RTL reads 8 bytes per load (4 for a
# remainder: 65 loads at most over the two parts), each load 3 cycles at worst (two packet RAM
# words), plus the call, the switch to `to` and the result (docs/exec.md, measured by tb/exec)
COST_CSUM = 3 + 3 * (512 // 8 + 1)
# load/store_bytes: the copy fits its destination (the stack, or the header window; checked before
# it starts), 8 bytes per chunk (load, store; 4 cycles when the load reads two packet RAM words),
# then up to 7 single bytes (3 cycles each), plus the call, load_bytes' two checks and the result
COST_BYTES = 4 + 4 * (max(512, enc.HDR_BYTES) // 8) + 3 * 7

NIC_HELPERS: dict[int, NicHelper] = {h.id: h for h in (
    NicHelper(1, COST_MAP_OP, rtl=True),  # map_lookup_elem (array, percpu_array, hash, percpu_hash, lpm_trie)
    NicHelper(2, COST_MAP_OP, rtl=True),  # map_update_elem (rtl: rtl_map_write_reason's rules)
    NicHelper(3, COST_MAP_OP, rtl=True),  # map_delete_elem
    NicHelper(5, COST_SIMPLE, rtl=True),  # ktime_get_ns (jitnic_top's rx_timestamp, per frame)
    NicHelper(7, COST_SIMPLE, rtl=True),  # get_prandom_u32
    NicHelper(8, COST_SIMPLE, rtl=True),  # get_smp_processor_id
    NicHelper(12, COST_SIMPLE, rtl=True),  # tail_call: a guard on the prog_array slot
    NicHelper(23, COST_SIMPLE, rtl=True),  # redirect
    NicHelper(28, COST_CSUM, rtl=True),  # csum_diff (rtl/jitnic_csum.v)
    NicHelper(44, COST_SIMPLE, rtl=True),  # xdp_adjust_head (head margin NIC_HEADROOM)
    NicHelper(51, COST_MAP_OP, rtl=True),  # redirect_map (devmap)
    NicHelper(65, COST_SIMPLE, rtl=True),  # xdp_adjust_tail (grows only inside the window)
    NicHelper(189, COST_BYTES, rtl=True),  # xdp_load_bytes
    NicHelper(190, COST_BYTES, rtl=True),  # xdp_store_bytes
)}
MAP_HELPERS = frozenset({1, 2, 3, 51}) # counted in MAP_OPS (redirect_map reads the devmap)
MAP_WRITE_HELPERS = frozenset({2, 3})  # each takes a write-buffer entry
TAIL_CALL = 12

# The helper sets a NIC can be configured with (NicConfig.helper_set), and who implements each.
HELPER_SETS: dict[str, frozenset[int]] = {
    "full": frozenset(NIC_HELPERS),
    "rtl": frozenset(h.id for h in NIC_HELPERS.values() if h.rtl),
}
_SET_OWNER = {"full": "the NIC helper set", "rtl": "the RTL executor's helper set"}
# Atomic operations (the instruction's imm) each set runs: the RTL adds only (32/64-bit, with or
# without FETCH); the model runs every atomic the ISA has.
RTL_ATOMIC_IMMS = frozenset({0x00, 0x01})          # BPF_ADD, BPF_ADD | BPF_FETCH

for _h in NIC_HELPERS.values():        # the names come from the kernel's list: one spelling
    assert helper_name(_h.id).startswith(_h.name), (_h, helper_name(_h.id))


def nic_helper_reason(helper_id: int) -> str | None:
    """None if the NIC runs this helper, else why a path calling it stays on the host."""
    if helper_id in NIC_HELPERS:
        return None
    return f"helper {helper_name(helper_id)} is not in the NIC helper set"


# map types whose update/delete the RTL runs (the kernel's verifier refuses program updates of
# devmaps and prog_arrays; LRU maps are host-resident anyway; an LPM trie's entries are only looked
# up by the RTL executor: a program's update/delete of one keeps its path on the host)
RTL_WRITE_MAP_TYPES = frozenset({"array", "percpu_array", "hash", "percpu_hash"})


def rtl_map_write_reason(events) -> str | None:
    """None if the RTL runs a trace's map_update_elem/map_delete_elem calls exactly as the model,
    else why the path stays on the host. `events`: the trace's map operations in order
    (tracer.TraceResult.map_events: map, "use"/"update"/"delete", value size, type name).

    The RTL decides each call's r0 at the call against map memory and buffers its effect until
    `exit` (docs/exec.md "Map updates and deletes"); the model decides against the transaction's
    own view. The two agree when nothing in the trace touches a map after updating or deleting in
    it: earlier stores change only values, never whether a key exists or the table is full."""
    done: set[str] = set()
    for name, kind, value_size, type_name in events:
        if name in done:
            return (f"map {name}: used again after its update/delete in the same trace (the RTL "
                    "decides against map memory, not its own buffered update)")
        if kind == "use":
            continue
        if type_name not in RTL_WRITE_MAP_TYPES:
            return f"bpf_map_{kind}_elem on a {type_name} map: not in the RTL executor's helper set"
        if kind == "update" and value_size > enc.MAPOP_VALUE_BYTES:
            return (f"bpf_map_update_elem of {value_size} bytes: more than the RTL's "
                    f"MAPOP_VALUE_BYTES {enc.MAPOP_VALUE_BYTES}")
        done.add(name)
        if len(done) > enc.MAPOP_ENTRIES:
            return (f"updates/deletes in {len(done)} maps: more than the RTL's MAPOP_ENTRIES "
                    f"{enc.MAPOP_ENTRIES}")
    return None


def check_helper_set(name: str) -> str:
    if name not in HELPER_SETS:
        raise ValueError(f"helper set must be one of {', '.join(HELPER_SETS)}, got {name!r}")
    return name


def set_reason(trace, helper_set: str) -> str | None:
    """None if a NIC with `helper_set` runs every call and atomic of `trace` (decoded eBPF
    instructions, as traced), else why the path stays on the host (the first offender), e.g.
    "bpf_xdp_adjust_head: not in the RTL executor's helper set"."""
    allowed = HELPER_SETS[check_helper_set(helper_set)]
    if helper_set == "full":
        return None
    for insn in trace:
        if insn.opcode == 0x85 and insn.src == 0 and insn.imm not in allowed:
            name = HELPER_NAMES.get(insn.imm)
            who = f"bpf_{name}" if name else f"helper {insn.imm}"
            return f"{who}: not in {_SET_OWNER[helper_set]}"
        if insn.opcode in (0xC3, 0xDB) and insn.imm not in RTL_ATOMIC_IMMS:
            return (f"atomic operation {insn.imm:#x}: not in {_SET_OWNER[helper_set]} "
                    "(add and fetch-add only)")
    return None


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
    rtl = " || ".join(f"(id) == 32'd{i}" for i in sorted(HELPER_SETS["rtl"]))
    lines.append("// the helpers rtl/jitnic_exec.v implements (nic_helpers.NicHelper.rtl)")
    lines.append(f"`define RTL_HELPER_OK(id) ({rtl})")
    return lines
