"""The NIC ABI, defined once: atom words, trace words, entry layout, control/status registers,
counters, stream channels, policy and error codes, and the default NIC parameters.

Everything the RTL needs is generated from this module into `rtl/jitnic_abi.vh`
(`python -m jit.nic.encoding --write rtl/jitnic_abi.vh`, or `make header`); a test fails when the
committed header differs from the generated one. `docs/abi.md` explains the same contract in prose.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from enum import IntEnum

from jit.ebpf import helpers as _xdp_helpers
from jit.ebpf import memmap
from jit import JitnicError

# ---- default NIC parameters (the RTL top's parameter defaults come from here) -------------------
N_ENTRIES = 16       # trace-cache entries (power of two)
MAX_ATOMS = 16       # atoms per entry condition
MAX_TRACE_LEN = 128  # 64-bit instruction slots per trace (LD_IMM64 takes two)
HDR_BYTES = 128      # header window: atoms may only look here; stores may only write here
DATA_WIDTH = 64      # Avalon-ST data bus and packet RAM word width in bits: 64, 128, 256 or 512
PKT_BYTES = 2048     # packet buffer; longer frames are dropped and counted (OVERSIZE)
N_BUFS = 8           # packet buffers (frames between rx and the outputs): 8 keep IMIX at line rate
N_LANES = 4          # executor lanes (hits executing at once; results leave in arrival order)
N_SLOTS = 16         # field extractor slots shared by all entries (docs/rtl.md: measured, tools/extractors.py)
# Compare cells per entry (docs/rtl.md "Compare cells"): one cell per extractor slot reads that slot
# directly; N_LEN_ATOMS cells read the frame length; N_GEN_ATOMS general atoms choose any slot or
# the length (a multiplexer each) and take the second and later atoms on one field and the length
# atoms beyond the length cells (measured: tools/cells.py).
N_LEN_ATOMS = 2
N_GEN_ATOMS = 4
ETH_HLEN = 14        # frames shorter than this are runts: processed, and counted (RUNTS)
# NIC map memory (jit/nic/mapmem.py, rtl/jitnic_maps.v). 256 KiB holds the shipped programs'
# NIC-resident maps several times over (the largest, deny_list, needs 40 KiB: a 1024-entry hash
# with 2048 buckets) and the survey's typical ones (per-CPU counter arrays of 256 u64, devmaps of
# 64..256 ports); it is 32K 64-bit words, 64 BRAM36 on an UltraScale+ part.
MAP_MEM_BYTES = 256 * 1024
MAP_MAX_MAPS = 16        # map descriptors (map ids 0..15)
MAP_MAX_KEY_BYTES = 64   # key staging: hash keys up to 64 bytes (IPv6 5-tuples need 37)
MAP_MAX_VALUE_BYTES = 256  # value staging holds two slots of this many bytes (per-CPU maps)
# LPM tries on the NIC: key data (after the u32 prefixlen) up to 16 bytes (IPv6), so prefix lengths
# 0..128 and a bitmap of the lengths in use of at most 3 words (jit/nic/mapmem.py "LPM tries")
MAP_LPM_MAX_DATA_BYTES = 16

# Execution budget checked at commit (jit/nic/validate.py): executor cycles per slot. A divide or
# modulo waits for rtl/jitnic_div.v (one quotient bit per cycle: 64 or 32 iterations, plus the
# result cycle and the issue cycle); everything else is budgeted one cycle.
EXEC_COST_SLOT = 1
EXEC_COST_DIV64 = 66
EXEC_COST_DIV32 = 34
EXEC_COST_ATOMIC = 2  # read-modify-write of a write-buffer entry
EXEC_BUDGET = 1024   # per trace: 128 plain slots, or 14 64-bit divides (127 of them took ~8.4k cycles)

# NIC state (trace format v2, docs/abi.md "state"): guards, write buffer, helpers, head/tail moves.
MAX_GUARD_TRIES = 4  # entries one frame may try (first match + fall-throughs on guard failure)
WB_ENTRIES = 16      # map write buffer: map-writing instructions a trace may hold (checked at commit)
NIC_CPU = 1          # the NIC's CPU number (bpf_get_smp_processor_id, per-CPU slot); the host is 0
NIC_HEADROOM = 64    # bytes bpf_xdp_adjust_head may grow the head by (the window's front margin)
TAIL_CALL_EMPTY = 0xFFFF_FFFF  # `mov r4, K` before `call 12`: K for "slot empty or out of range"
# bpf_xdp_adjust_head/tail on the NIC (helpers 44 and 65): the executor counts packet positions from
# the start of the head margin (frame byte 0 at NIC_HEADROOM); the kernel's -EINVAL limits
# (jit/ebpf/helpers.py) in those positions. data below ADJ_DATA_MIN (-152: below the margin, so the
# NIC's ADJUST_RANGE comes first for data in [ADJ_DATA_MIN, 0)) or data_end above ADJ_END_MAX.
ADJ_POS_SHIFT = memmap.HEADROOM - NIC_HEADROOM     # interpreter buffer offset = position + this
ADJ_DATA_MIN = _xdp_helpers.XDP_FRAME_SIZE - ADJ_POS_SHIFT
ADJ_END_MAX = _xdp_helpers.HARD_END - ADJ_POS_SHIFT
# map_update_elem / map_delete_elem on the RTL (rtl/jitnic_mapops.v): the executor buffers each
# call that succeeds until `exit`; one per map and trace (nic_helpers.rtl_map_write_reason)
MAPOP_ENTRIES = 4        # maps a trace may update or delete in
MAPOP_VALUE_BYTES = 64   # the longest value map_update_elem copies on the RTL


class AtomOp(IntEnum):
    """Comparison of an atom: (field & mask) OP const. Signed ops sign-extend both sides."""
    EQ = 0
    NE = 1
    LT = 2
    LE = 3
    GT = 4
    GE = 5
    SLT = 6
    SLE = 7
    SGT = 8
    SGE = 9


ATOM_OP_SYMBOL = {AtomOp.EQ: "==", AtomOp.NE: "!=", AtomOp.LT: "<", AtomOp.LE: "<=",
                  AtomOp.GT: ">", AtomOp.GE: ">=", AtomOp.SLT: "s<", AtomOp.SLE: "s<=",
                  AtomOp.SGT: "s>", AtomOp.SGE: "s>="}


def compare(op: AtomOp, a: int, b: int) -> bool:
    """`a OP b` for the unsigned operators EQ..GE (signed ones are mapped onto them by the caller)."""
    if op == AtomOp.EQ:
        return a == b
    if op == AtomOp.NE:
        return a != b
    if op == AtomOp.LT:
        return a < b
    if op == AtomOp.LE:
        return a <= b
    if op == AtomOp.GT:
        return a > b
    return a >= b


class AtomKind(IntEnum):
    PKT = 0   # field = load(window, offset, width, byte order), zero-extended to 32 bits
    LEN = 1   # field = packet length in bytes (offset/width/byte order ignored)


WIDTH_CODE = {1: 0, 2: 1, 4: 2}          # atom width in bytes -> 2-bit code
WIDTH_FROM_CODE = {v: k for k, v in WIDTH_CODE.items()}

# ---- atom word 0 (control) bit fields: (lsb, width) ---------------------------------------------
ATOM_OP = (0, 4)
ATOM_WIDTH = (4, 2)
ATOM_BE = (6, 1)          # 1: big-endian (network order) load, 0: little-endian
ATOM_KIND = (7, 1)
ATOM_OFFSET = (16, 12)    # byte offset from the first byte of the frame
ATOM_WORDS = 3            # word0 control, word1 mask, word2 const
ATOM_STRIDE = 16          # bytes between atoms in the staging area (word 3 reserved)


def _field(value: int, field: tuple[int, int]) -> int:
    lsb, width = field
    if not 0 <= value < (1 << width):
        raise EncodingError(f"value {value} does not fit in a {width}-bit field")
    return value << lsb


def _get(word: int, field: tuple[int, int]) -> int:
    lsb, width = field
    return (word >> lsb) & ((1 << width) - 1)


class EncodingError(JitnicError):
    """A value that the NIC ABI cannot represent."""


def sign_extend32(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


@dataclass(frozen=True)
class Atom:
    """One hardware predicate: `(field & mask) OP const` over a packet field or the length."""
    kind: AtomKind
    op: AtomOp
    offset: int = 0
    width: int = 4
    big_endian: bool = True
    mask: int = 0xFFFF_FFFF
    const: int = 0

    def words(self) -> tuple[int, int, int]:
        """The three 32-bit words the host writes into the staging area."""
        ctrl = (_field(int(self.op), ATOM_OP) | _field(WIDTH_CODE[self.width], ATOM_WIDTH)
                | _field(int(self.big_endian), ATOM_BE) | _field(int(self.kind), ATOM_KIND)
                | _field(self.offset, ATOM_OFFSET))
        return ctrl, self.mask & 0xFFFF_FFFF, self.const & 0xFFFF_FFFF

    @classmethod
    def from_words(cls, ctrl: int, mask: int, const: int) -> "Atom":
        code = _get(ctrl, ATOM_WIDTH)
        if code not in WIDTH_FROM_CODE:
            raise EncodingError(f"bad atom width code {code}")
        return cls(kind=AtomKind(_get(ctrl, ATOM_KIND)), op=AtomOp(_get(ctrl, ATOM_OP)),
                   offset=_get(ctrl, ATOM_OFFSET), width=WIDTH_FROM_CODE[code],
                   big_endian=bool(_get(ctrl, ATOM_BE)), mask=mask, const=const)

    def field_value(self, packet: bytes, window: int = HDR_BYTES) -> int:
        """The (unmasked) field as the NIC sees it: bytes past the frame or window read as 0."""
        if self.kind == AtomKind.LEN:
            return len(packet) & 0xFFFF_FFFF
        end = self.offset + self.width
        raw = packet[self.offset:min(end, window)]
        raw = raw + bytes(self.width - len(raw))
        return int.from_bytes(raw, "big" if self.big_endian else "little")

    def holds(self, packet: bytes, window: int = HDR_BYTES) -> bool:
        a = self.field_value(packet, window) & self.mask
        b = self.const & 0xFFFF_FFFF
        op = self.op
        if op >= AtomOp.SLT:
            bits = 32 if self.kind == AtomKind.LEN else 8 * self.width
            a, b = sign_extend32(a, bits), sign_extend32(b, 32)
            op = AtomOp(op - AtomOp.SLT + AtomOp.LT)
        return compare(op, a, b)

    def __str__(self) -> str:
        sym = ATOM_OP_SYMBOL[self.op]
        if self.kind == AtomKind.LEN:
            return f"len {sym} {self.const}"
        field = f"pkt[{self.offset}:{self.offset + self.width}]"
        if not self.big_endian and self.width > 1:
            field += ".le"
        full = (1 << (8 * self.width)) - 1
        if self.mask & full != full:
            field = f"({field} & {self.mask:#x})"
        return f"{field} {sym} {self.const:#x}"


# ---- trace words ---------------------------------------------------------------------------------
# A trace is a straight-line eBPF program in the standard 64-bit encoding. Slot s is written as two
# 32-bit words: lo = bytes 0..3 (opcode | dst << 8 | src << 12 | off << 16), hi = imm (bytes 4..7).
TRACE_STRIDE = 8


def trace_words(code: bytes) -> list[tuple[int, int]]:
    """(lo, hi) word pairs, one per 8-byte slot of an encoded trace."""
    if len(code) % 8:
        raise EncodingError("trace length is not a multiple of 8 bytes")
    return [(int.from_bytes(code[i:i + 4], "little"), int.from_bytes(code[i + 4:i + 8], "little"))
            for i in range(0, len(code), 8)]


# ---- control/status registers (AXI4-Lite, 32-bit data, byte addresses) ---------------------------
AXIL_ADDR_WIDTH = 16
ID_VALUE = 0x4A4E4943     # "JNIC"
ABI_VERSION = 2           # 2: field extractor slots (REG_CFG_N_SLOTS, REG_SLOTS, SLOTS_FULL)

REG_ID = 0x0000
REG_VERSION = 0x0004
REG_CFG_N_ENTRIES = 0x0008
REG_CFG_MAX_ATOMS = 0x000C
REG_CFG_MAX_TRACE_LEN = 0x0010
REG_CFG_HDR_BYTES = 0x0014
REG_CFG_POLICY = 0x0018
REG_CFG_PKT_BYTES = 0x001C
REG_CTRL = 0x0020         # write-only, self-clearing command bits
REG_STATUS = 0x0024
REG_ERROR = 0x0028        # error code of the last commit (ErrorCode), slot/atom index in [31:16]
REG_STAGE_NATOMS = 0x002C
REG_STAGE_TRACE_LEN = 0x0030  # in 64-bit slots
REG_POLICY_SEED = 0x0034  # written value is loaded into the RANDOM policy's LFSR on CTRL_RESEED
REG_CFG_N_SLOTS = 0x0038  # field extractor slots (N_SLOTS)
REG_PRANDOM_SEED = 0x003C  # the NIC's bpf_get_prandom_u32 LFSR (jit/nic/nic_helpers.py), loaded
                           # on CTRL_RESEED like the policy's
REG_CFG_CELLS = 0x0040    # compare cells per entry: [7:0] N_LEN_ATOMS (length cells), [15:8]
                          # N_GEN_ATOMS (general atoms); the slot cells are REG_CFG_N_SLOTS
CFG_CELLS_GEN_LSB = 8

CTRL_COMMIT = 1 << 0            # install the staged entry into the policy's victim
CTRL_INVALIDATE_ALL = 1 << 1    # clear every entry's valid bit (and the policy's FIFO pointer)
CTRL_CLEAR_COUNTERS = 1 << 2
CTRL_RESEED = 1 << 3

STATUS_BUSY = 1 << 0            # a commit is waiting for the packet engine or in progress
STATUS_COMMIT_OK = 1 << 1       # last commit installed
STATUS_COMMIT_ERR = 1 << 2      # last commit rejected (see REG_ERROR)
STATUS_LAST_ENTRY = (8, 8)      # entry the last commit wrote
STATUS_LAST_EVICTED = 1 << 16   # the last commit replaced a valid entry

SLOT_IN_USE = 1 << 31           # REG_SLOTS: some valid entry's atoms read this slot

REG_COUNTERS = 0x0100           # counter k at REG_COUNTERS + 4*k (32-bit, wrapping)
REG_ENTRY_HITS = 0x0400         # hits of entry i at REG_ENTRY_HITS + 4*i
REG_ENTRY_VALID = 0x0800        # bit i: entry i valid (entries 0..31), next word 32..63
REG_SLOTS = 0x0C00              # extractor slot k at REG_SLOTS + 4*k (RO): its field in the atom
                                # control word's layout (offset, width, byte order) | SLOT_IN_USE
REG_STAGE_ATOMS = 0x1000        # atom i word w at REG_STAGE_ATOMS + ATOM_STRIDE*i + 4*w
REG_STAGE_TRACE = 0x2000        # slot s word w at REG_STAGE_TRACE + TRACE_STRIDE*s + 4*w

# map access (jit/nic/mapmem.py has the command, descriptor and errno encodings; docs/abi.md)
REG_MAP_REGION = 0x4000         # the map block decodes REG_MAP_REGION .. + MAP_REGION_BYTES - 1
MAP_REGION_BYTES = 0x1000
REG_MAP_CMD = 0x4000            # write: start a map command (MapCmd, map id, flags, slot)
REG_MAP_STATUS = 0x4004         # bit0 busy, bit1 done, bit2 overrun (a write while busy: ignored)
REG_MAP_ERRNO = 0x4008          # positive errno of the last command (0: success)
REG_MAP_CFG_MEM_BYTES = 0x400C  # MAP_MEM_BYTES
REG_MAP_CFG_LIMITS = 0x4010     # [7:0] max maps, [15:8] max key bytes, [31:16] max value bytes
REG_MAP_CYCLES = 0x4014         # cycles the last command took from start to done
REG_MAP_TURN = 0x4018           # frames retired by the packet engine when the last command started
REG_MAP_DESC = 0x4020           # descriptor staging word w at REG_MAP_DESC + 4*w (w = 0..3)
REG_MAP_KEY = 0x4100            # key staging: bytes 4i..4i+3 at REG_MAP_KEY + 4*i
REG_MAP_VALUE = 0x4800          # value staging: bytes 4i..4i+3 at REG_MAP_VALUE + 4*i


class Counter(IntEnum):
    RX_PACKETS = 0      # frames received on rx (start to end of packet), whatever became of them
    HITS = 1            # matched an entry (and ran its trace)
    MISSES = 2          # no entry matched: sent to host untouched (channel MISS)
    INSTALLS = 3        # successful commits
    EVICTIONS = 4       # commits that replaced a valid entry
    TX = 5              # hits whose trace returned XDP_TX (sent on tx)
    DROPS = 6           # hits whose trace returned XDP_DROP
    PASSES = 7          # hits whose trace returned XDP_PASS (host, channel PASS)
    REDIRECTS = 8       # hits whose trace returned XDP_REDIRECT (host, channel REDIRECT)
    ABORTS = 9          # hits whose trace returned XDP_ABORTED or an unknown action (dropped)
    EXEC_ERRORS = 10    # hits whose trace faulted: original frame to host (channel EXEC_ERROR)
    RUNTS = 11          # frames shorter than ETH_HLEN (processed normally, counted here too)
    OVERSIZE = 12       # frames longer than PKT_BYTES: dropped
    HOST_TX = 13        # frames the host sent to the wire through host_tx
    INSTALL_ERRORS = 14 # rejected commits
    EXEC_CYCLES = 15    # cycles the executor spent running traces
    RX_DROPS = 16       # frames dropped because no packet buffer was free at their start
    RX_ERRORS = 17      # frames marked bad by rx_error (e.g. bad FCS): dropped
    RX_MALFORMED = 18   # malformed beat sequences dropped: a frame cut short by a start of packet,
                        # or a run of beats outside any frame (one count per fragment)
    GUARD_MISSES = 19   # frames whose matching entries all failed a guard: to host as MISS (also
                        # counted in MISSES)
    MAP_OPS = 20        # map helper calls and map value loads/stores/atomics of committed traces
    WB_OVERFLOWS = 21   # commits refused because the trace could overflow the write buffer


class Channel(IntEnum):
    """`host_channel` of the NIC-to-host stream."""
    MISS = 0         # original frame, no entry matched: the host runs the program
    PASS = 1         # a trace returned XDP_PASS: frame as the trace left it
    REDIRECT = 2     # a trace returned XDP_REDIRECT: frame as the trace left it
    EXEC_ERROR = 3   # a trace faulted: original frame, the host runs the program


class RedirectKind(IntEnum):
    """What a REDIRECT frame's metadata word names (`redirect_meta`)."""
    NONE = 0         # no target recorded
    IFINDEX = 1      # bpf_redirect(ifindex, 0)
    MAP = 2          # bpf_redirect_map(map, key, flags): the map's fd and the key


# Metadata word of a REDIRECT frame on the host stream (`host_meta`, 64 bits): bit fields.
META_TARGET = (0, 32)     # ifindex (IFINDEX) or key (MAP)
META_KIND = (32, 2)       # RedirectKind
META_MAP_FD = (40, 8)     # MAP: the map's fd
META_FLAGS = (48, 16)     # MAP: the helper's flags (low 16 bits; BPF_F_BROADCAST is bit 3)


def redirect_meta(kind: RedirectKind, target: int = 0, map_fd: int = 0, flags: int = 0) -> int:
    """The 64-bit metadata word of a REDIRECT frame."""
    return (_field(target & 0xFFFF_FFFF, META_TARGET) | _field(int(kind), META_KIND)
            | _field(map_fd, META_MAP_FD) | _field(flags & 0xFFFF, META_FLAGS))


def decode_redirect_meta(word: int) -> tuple[RedirectKind, int, int, int]:
    """(kind, target, map fd, flags) of a metadata word."""
    return (RedirectKind(_get(word, META_KIND)), _get(word, META_TARGET), _get(word, META_MAP_FD),
            _get(word, META_FLAGS))


class ErrorCode(IntEnum):
    """REG_ERROR[15:0] after a rejected commit; [31:16] holds the atom or slot index."""
    NONE = 0
    TOO_MANY_ATOMS = 1     # STAGE_NATOMS > MAX_ATOMS
    BAD_TRACE_LEN = 2      # STAGE_TRACE_LEN == 0 or > MAX_TRACE_LEN
    BAD_OPCODE = 3         # an opcode the executor does not implement (jumps, calls, atomics, ...)
    NO_EXIT = 4            # the last slot is not `exit`
    ATOM_WINDOW = 5        # a PKT atom reaches past HDR_BYTES
    BAD_ATOM = 6           # unknown op or width code
    EXEC_BUDGET = 7        # the trace's budgeted executor cycles exceed EXEC_BUDGET (slot index)
    SLOTS_FULL = 8         # a packet atom's field is in no extractor slot and none is free
                           # (after the victim's slots are released; atom index)
    BAD_JUMP = 9           # a jump backwards, into an LD_IMM64, or past the guard exit (slot index)
    BAD_CALL = 10          # a call outside the NIC helper set (jit/nic/nic_helpers.py)
    WB_OVERFLOW = 11       # more map-writing instructions than WB_ENTRIES (slot of the first excess)
    CELLS_FULL = 12        # an atom finds no compare cell in its entry: its slot's cell is taken
                           # and the general atoms (and for a length atom the length cells) are
                           # used up (atom index)


class ExecError(IntEnum):
    """Why the executor gave a frame back to the host (visible in the waveform as exec_err)."""
    NONE = 0
    BAD_OPCODE = 1
    PKT_BOUNDS = 2       # packet access outside [data, data_end)
    STORE_WINDOW = 3     # packet store past HDR_BYTES
    STACK_BOUNDS = 4
    CTX_ACCESS = 5       # context access that is not an aligned u32 read of a field
    BAD_ADDRESS = 6      # address in no region
    FELL_OFF = 7         # ran past the trace's last slot without exit
    GUARD = 8            # a guard failed (jump to the guard exit, or a tail-call slot differs):
                         # not a fault; the next matching entry is tried, then MISS
    MAP_ACCESS = 9       # map value access outside the value, a write to a read-only map, or a
                         # map the NIC does not hold
    ADJUST_RANGE = 10    # adjust_head/adjust_tail the kernel allows but the NIC cannot hold
                         # (head beyond NIC_HEADROOM, frame beyond PKT_BYTES)


# results only a NIC of trace format v2 gives (the RTL executor of today never does)
V2_EXEC_ERRORS = frozenset({ExecError.GUARD, ExecError.MAP_ACCESS, ExecError.ADJUST_RANGE})


class Policy(IntEnum):
    LRU = 0
    FIFO = 1
    RANDOM = 2
    PLRU = 3


# RANDOM policy: 32-bit Galois LFSR, x^32 + x^22 + x^2 + x + 1. It steps once per commit that
# needs a victim among all-valid entries; the victim is the state's low log2(N_ENTRIES) bits taken
# before the step. A zero seed would lock the LFSR, so seed 0 loads LFSR_DEFAULT_SEED instead.
LFSR_TAPS = 0x8020_0003
LFSR_DEFAULT_SEED = 0xACE1_ACE1


def lfsr_step(state: int) -> int:
    """One Galois step (shift right, xor taps when the dropped bit was 1)."""
    lsb = state & 1
    state >>= 1
    if lsb:
        state ^= LFSR_TAPS
    return state


def lfsr_seed(seed: int) -> int:
    seed &= 0xFFFF_FFFF
    return seed or LFSR_DEFAULT_SEED


# ---- Verilog header generation --------------------------------------------------------------------
def _enum_defines(prefix: str, enum: type[IntEnum], width: int) -> list[str]:
    return [f"`define {prefix}_{m.name} {width}'d{int(m)}" for m in enum]


def verilog_header() -> str:
    """Text of `rtl/jitnic_abi.vh`."""
    lines = [
        "// Generated by jit/nic/encoding.py (python -m jit.nic.encoding --write rtl/jitnic_abi.vh) -- do not edit.",
        "// The NIC ABI: see docs/abi.md.",
        "`ifndef JITNIC_ABI_VH",
        "`define JITNIC_ABI_VH",
        "",
        "// default parameters",
        f"`define JITNIC_N_ENTRIES {N_ENTRIES}",
        f"`define JITNIC_MAX_ATOMS {MAX_ATOMS}",
        f"`define JITNIC_MAX_TRACE_LEN {MAX_TRACE_LEN}",
        f"`define JITNIC_HDR_BYTES {HDR_BYTES}",
        f"`define JITNIC_DATA_WIDTH {DATA_WIDTH}",
        f"`define JITNIC_PKT_BYTES {PKT_BYTES}",
        f"`define JITNIC_N_BUFS {N_BUFS}",
        f"`define JITNIC_N_LANES {N_LANES}",
        f"`define JITNIC_N_SLOTS {N_SLOTS}",
        f"`define JITNIC_N_LEN_ATOMS {N_LEN_ATOMS}",
        f"`define JITNIC_N_GEN_ATOMS {N_GEN_ATOMS}",
        f"`define JITNIC_ETH_HLEN {ETH_HLEN}",
        f"`define JITNIC_MAX_GUARD_TRIES {MAX_GUARD_TRIES}",
        f"`define JITNIC_WB_ENTRIES {WB_ENTRIES}",
        f"`define JITNIC_NIC_CPU {NIC_CPU}",
        f"`define JITNIC_NIC_HEADROOM {NIC_HEADROOM}",
        f"`define JITNIC_TAIL_CALL_EMPTY 32'h{TAIL_CALL_EMPTY:08x}",
        f"`define JITNIC_ADJ_EINVAL_BELOW {-ADJ_DATA_MIN}",
        f"`define JITNIC_ADJ_END_MAX {ADJ_END_MAX}",
        f"`define JITNIC_MAPOP_ENTRIES {MAPOP_ENTRIES}",
        f"`define JITNIC_MAPOP_VALUE_BYTES {MAPOP_VALUE_BYTES}",
        "",
        "// address map (jit/ebpf/memmap.py)",
        f"`define JITNIC_CTX_BASE 32'h{memmap.CTX_BASE:08x}",
        f"`define JITNIC_CTX_SIZE {memmap.CTX_SIZE}",
        f"`define JITNIC_CTX_OFF_DATA {memmap.CTX_OFF_DATA}",
        f"`define JITNIC_CTX_OFF_DATA_END {memmap.CTX_OFF_DATA_END}",
        f"`define JITNIC_CTX_OFF_DATA_META {memmap.CTX_OFF_DATA_META}",
        f"`define JITNIC_CTX_OFF_INGRESS_IFINDEX {memmap.CTX_OFF_INGRESS_IFINDEX}",
        f"`define JITNIC_CTX_OFF_RX_QUEUE_INDEX {memmap.CTX_OFF_RX_QUEUE_INDEX}",
        f"`define JITNIC_CTX_OFF_EGRESS_IFINDEX {memmap.CTX_OFF_EGRESS_IFINDEX}",
        f"`define JITNIC_PKT_BASE 32'h{memmap.PKT_BASE:08x}",
        f"`define JITNIC_PKT_DATA 32'h{memmap.PKT_DATA:08x}",
        f"`define JITNIC_STACK_BASE 32'h{memmap.STACK_BASE:08x}",
        f"`define JITNIC_STACK_SIZE {memmap.STACK_SIZE}",
        f"`define JITNIC_STACK_TOP 32'h{memmap.STACK_TOP:08x}",
        f"`define JITNIC_MAP_BASE 32'h{memmap.MAP_BASE:08x}",
        f"`define JITNIC_MAP_HANDLE_OFF 32'h{memmap.MAP_HANDLE_OFF:08x}",
        "",
        "// XDP actions",
    ]
    lines += [f"`define XDP_{n[4:]} 32'd{v}" for v, n in memmap.ACTION_NAMES.items()]
    lines += ["", "// atom word 0 fields: lsb and width"]
    for name, (lsb, width) in (("OP", ATOM_OP), ("WIDTH", ATOM_WIDTH), ("BE", ATOM_BE),
                               ("KIND", ATOM_KIND), ("OFFSET", ATOM_OFFSET)):
        lines.append(f"`define ATOM_{name}_LSB {lsb}")
        lines.append(f"`define ATOM_{name}_W {width}")
    lines.append(f"`define ATOM_STRIDE {ATOM_STRIDE}")
    lines += _enum_defines("ATOM_OP", AtomOp, 4)
    lines += _enum_defines("ATOM_KIND", AtomKind, 1)
    lines += [f"`define ATOM_WIDTH_{w}B 2'd{c}" for w, c in WIDTH_CODE.items()]
    lines += ["", "// registers (byte addresses on the AXI4-Lite control bus)",
              f"`define JITNIC_AXIL_ADDR_WIDTH {AXIL_ADDR_WIDTH}",
              f"`define JITNIC_ID 32'h{ID_VALUE:08x}",
              f"`define JITNIC_ABI_VERSION {ABI_VERSION}"]
    regs = [(v, n) for n, v in globals().items() if n.startswith("REG_") and isinstance(v, int)]
    for value, name in sorted(regs):
        lines.append(f"`define {name} 16'h{value:04x}")
    for name in ("CTRL_COMMIT", "CTRL_INVALIDATE_ALL", "CTRL_CLEAR_COUNTERS", "CTRL_RESEED",
                 "STATUS_BUSY", "STATUS_COMMIT_OK", "STATUS_COMMIT_ERR", "STATUS_LAST_EVICTED",
                 "SLOT_IN_USE"):
        lines.append(f"`define {name}_BIT {globals()[name].bit_length() - 1}")
    lines.append(f"`define STATUS_LAST_ENTRY_LSB {STATUS_LAST_ENTRY[0]}")
    lines.append(f"`define CFG_CELLS_GEN_LSB {CFG_CELLS_GEN_LSB}")
    lines.append(f"`define TRACE_STRIDE {TRACE_STRIDE}")
    lines += ["", "// counters: index k lives at REG_COUNTERS + 4*k",
              f"`define N_COUNTERS {len(Counter)}"]
    lines += [f"`define CNT_{m.name} {int(m)}" for m in Counter]
    lines += ["", "// NIC-to-host stream channel"]
    lines += _enum_defines("CHAN", Channel, 2)
    lines += ["", "// REDIRECT metadata word (host_meta): kinds and fields"]
    lines += _enum_defines("REDIRECT_KIND", RedirectKind, 2)
    for name, (lsb, width) in (("TARGET", META_TARGET), ("KIND", META_KIND),
                               ("MAP_FD", META_MAP_FD), ("FLAGS", META_FLAGS)):
        lines.append(f"`define META_{name}_LSB {lsb}")
        lines.append(f"`define META_{name}_W {width}")
    lines += ["", "// commit error codes (REG_ERROR[15:0])"]
    lines += _enum_defines("ERR", ErrorCode, 16)
    from jit.nic.validate import verilog_defines      # (imports this module: not at the top)
    lines += ["", "// commit validation (jit/nic/validate.py): slot rules, field checks, budget"]
    lines += verilog_defines()
    from jit.nic import mapmem                        # (imports this module: not at the top)
    lines += ["", "// map memory (jit/nic/mapmem.py): sizes, types, commands, layout, hash"]
    lines += mapmem.verilog_defines()
    lines += ["", "// executor fault codes"]
    lines += _enum_defines("EXEC_ERR", ExecError, 4)
    lines += ["", "// replacement policies (REG_CFG_POLICY)"]
    lines += _enum_defines("POLICY", Policy, 2)
    lines += ["", f"`define LFSR_TAPS 32'h{LFSR_TAPS:08x}",
              f"`define LFSR_DEFAULT_SEED 32'h{LFSR_DEFAULT_SEED:08x}", "", "`endif", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="generate the NIC ABI header")
    parser.add_argument("--write", metavar="PATH", help="write the Verilog header here")
    args = parser.parse_args(argv)
    text = verilog_header()
    if args.write:
        with open(args.write, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
