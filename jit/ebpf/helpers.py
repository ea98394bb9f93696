"""The BPF helpers the interpreter models, with the kernel's ids and semantics: one table,
`HELPERS`, keyed by helper id (jit/ebpf/helper_ids.py), so adding a helper is one decorated
function. An id not in the table is an error naming the helper (`bpf_get_stackid (27)`).

A helper is `fn(mem, pc, r1, r2, r3, r4, r5) -> r0`; `mem.env` is the run's `RunEnv`
(jit/ebpf/runtime.py: maps, CPU, clock, random state, events, redirect target). Errors the kernel
reports to the program come back as negative errnos; what the verifier would have refused (a
pointer that is not a map, a store through a read-only map) raises an InterpError naming the pc.

Deterministic by design: `bpf_ktime_get_ns`/`boot_ns` return the frame's capture timestamp (ns),
`bpf_get_prandom_u32` draws from a generator seeded per runtime, `bpf_get_smp_processor_id` is the
runtime's CPU. `bpf_trace_printk`, `bpf_perf_event_output` and `bpf_ringbuf_output` append an
event to the frame's event list instead of writing to a trace pipe or buffer.
"""
from __future__ import annotations

import re
import struct

from jit.ebpf import fib
from jit.ebpf.helper_ids import HELPER_NAMES
from jit.ebpf.isa import sign_extend
from jit.ebpf.interp import Helper, InterpError, Memory, PAGE_SHIFT, Region
from jit.ebpf.maps.base import E2BIG, EFAULT, EINVAL, ENOENT
from jit.ebpf.maps.devmap import CpuMap, DevMap
from jit.ebpf.maps.events import EventMap
from jit.ebpf.maps.mapinmap import MapInMap
from jit.ebpf.maps.mapset import UnmodelledMap
from jit.ebpf.maps.progarray import ProgArrayMap
from jit.ebpf.maps.queue import QueueMap
from jit.ebpf.memmap import (CTX_BASE, CTX_OFF_DATA, CTX_OFF_DATA_END, CTX_OFF_DATA_META,
                             HEADROOM, PKT_BASE, PKT_MAX, RINGBUF_BASE, XDP_ABORTED, XDP_REDIRECT)

M64 = (1 << 64) - 1
HELPERS: dict[int, Helper] = {}
_IDS = {name: i for i, name in HELPER_NAMES.items()}

# XDP buffer geometry of BPF_PROG_TEST_RUN (net/bpf/test_run.c) on x86-64: 256 bytes of headroom,
# a 4096-byte frame whose last 320 bytes (skb_shared_info) are not data, and struct xdp_frame
# (40 bytes) at the start of the headroom, which adjust_head/adjust_meta may not overwrite.
XDP_FRAME_SIZE = 40
FRAME_SIZE = 4096
TAILROOM = 320
ETH_HLEN = 14
XDP_META_MAX = 32
MAX_TAIL_CALLS = 33           # MAX_TAIL_CALL_CNT
BPF_F_BROADCAST = 1 << 3
BPF_F_EXCLUDE_INGRESS = 1 << 4
BPF_F_CURRENT_CPU = 0xFFFF_FFFF
BPF_F_CTXLEN_SHIFT = 32
BPF_F_CTXLEN_MASK = 0xFFFFF << 32
CSUM_DIFF_MAX = 512           # sizeof(sp->diff): 128 __be32 words
PRINTK_MAX = 1024             # the kernel formats into a buffer of this size


def helper(name: str):
    """Register `fn` as helper `bpf_<name>` under the kernel's id."""
    def register(fn: Helper) -> Helper:
        HELPERS[_IDS[name]] = fn
        return fn
    return register


class TailCall(Exception):
    """Raised by bpf_tail_call to leave the current program; the runtime starts `program`."""

    def __init__(self, program: str):
        super().__init__(program)
        self.program = program


def _env(mem: Memory, pc: int, name: str):
    env = mem.env
    if env is None:
        raise InterpError(pc, f"{name} needs maps and a runtime (jit.ebpf.runtime)")
    return env


def _map(mem: Memory, pc: int, addr: int, name: str):
    env = _env(mem, pc, name)
    m = env.maps.at_handle(addr)
    if m is None:
        raise InterpError(pc, f"{name}: r1 ({addr:#x}) is not a map")
    if isinstance(m, UnmodelledMap):
        raise InterpError(pc, f"{name}: {m.why()}")
    return env, m


def _errno(e: int) -> int:
    return e & M64


# ---- maps --------------------------------------------------------------------------------------
@helper("map_lookup_elem")
def map_lookup_elem(mem, pc, r1, r2, r3, r4, r5):
    env, m = _map(mem, pc, r1, "bpf_map_lookup_elem")
    key = mem.read(r2, m.key_size, pc)
    if isinstance(m, MapInMap):
        inner = m.lookup_map(key)
        return 0 if inner is None else env.maps.handle_of(inner)
    return m.lookup(key, env.cpu)


@helper("map_update_elem")
def map_update_elem(mem, pc, r1, r2, r3, r4, r5):
    env, m = _map(mem, pc, r1, "bpf_map_update_elem")
    key = mem.read(r2, m.key_size, pc)
    value = mem.read(r3, m.value_size, pc)
    return _errno(m.update(key, value, r4, env.cpu))


@helper("map_delete_elem")
def map_delete_elem(mem, pc, r1, r2, r3, r4, r5):
    _env_, m = _map(mem, pc, r1, "bpf_map_delete_elem")
    return _errno(m.delete(mem.read(r2, m.key_size, pc)))


@helper("map_lookup_percpu_elem")
def map_lookup_percpu_elem(mem, pc, r1, r2, r3, r4, r5):
    """Another CPU's copy of a per-CPU map value; NULL for a CPU the model does not have."""
    env, m = _map(mem, pc, r1, "bpf_map_lookup_percpu_elem")
    if not m.percpu:
        raise InterpError(pc, f"bpf_map_lookup_percpu_elem: map {m.name!r} is not per-CPU")
    cpu = r3 & 0xFFFF_FFFF
    return m.lookup(mem.read(r2, m.key_size, pc), cpu) if cpu < env.maps.n_cpus else 0


def _queue(mem, pc, addr: int, name: str):
    _e, m = _map(mem, pc, addr, name)
    if not isinstance(m, QueueMap):
        raise InterpError(pc, f"{name}: map {m.name!r} is a {m.d.type_name}, not a queue or stack")
    return m


@helper("map_push_elem")
def map_push_elem(mem, pc, r1, r2, r3, r4, r5):
    m = _queue(mem, pc, r1, "bpf_map_push_elem")
    return _errno(m.push(mem.read(r2, m.value_size, pc), r3))


def _take(mem, pc, r1, r2, name: str, remove: bool) -> int:
    m = _queue(mem, pc, r1, name)
    value = m.take(remove)
    if value is None:
        return _errno(-ENOENT)
    mem.write(r2, value, pc)
    return 0


@helper("map_pop_elem")
def map_pop_elem(mem, pc, r1, r2, r3, r4, r5):
    return _take(mem, pc, r1, r2, "bpf_map_pop_elem", True)


@helper("map_peek_elem")
def map_peek_elem(mem, pc, r1, r2, r3, r4, r5):
    return _take(mem, pc, r1, r2, "bpf_map_peek_elem", False)


@helper("spin_lock")
def spin_lock(mem, pc, r1, r2, r3, r4, r5):
    """One CPU runs one frame at a time: taking and releasing a lock changes nothing visible."""
    return 0


@helper("spin_unlock")
def spin_unlock(mem, pc, r1, r2, r3, r4, r5):
    return 0


# ---- time, randomness, CPU ---------------------------------------------------------------------
@helper("ktime_get_ns")
def ktime_get_ns(mem, pc, r1, r2, r3, r4, r5):
    return _env(mem, pc, "bpf_ktime_get_ns").now_ns & M64


@helper("ktime_get_boot_ns")
def ktime_get_boot_ns(mem, pc, r1, r2, r3, r4, r5):
    return _env(mem, pc, "bpf_ktime_get_boot_ns").now_ns & M64


@helper("ktime_get_coarse_ns")
def ktime_get_coarse_ns(mem, pc, r1, r2, r3, r4, r5):
    return _env(mem, pc, "bpf_ktime_get_coarse_ns").now_ns & M64


@helper("get_numa_node_id")
def get_numa_node_id(mem, pc, r1, r2, r3, r4, r5):
    return 0


@helper("get_prandom_u32")
def get_prandom_u32(mem, pc, r1, r2, r3, r4, r5):
    return _env(mem, pc, "bpf_get_prandom_u32").rng.getrandbits(32)


@helper("get_smp_processor_id")
def get_smp_processor_id(mem, pc, r1, r2, r3, r4, r5):
    return _env(mem, pc, "bpf_get_smp_processor_id").cpu


# ---- tail calls and redirects ------------------------------------------------------------------
@helper("tail_call")
def tail_call(mem, pc, r1, r2, r3, r4, r5):
    """On success the current program ends and the slot's program runs on the same context; on
    failure (index out of range, empty slot, more than 33 tail calls) execution continues after
    the call (r0: -ENOENT; the kernel leaves r0 undefined and the verifier forbids reading it)."""
    env, m = _map(mem, pc, r2, "bpf_tail_call")
    if not isinstance(m, ProgArrayMap):
        raise InterpError(pc, f"bpf_tail_call: map {m.name!r} is a {m.d.type_name}, not a "
                              "prog_array")
    prog = m.program(r3 & 0xFFFF_FFFF)
    if prog is None or env.tail_calls >= MAX_TAIL_CALLS:
        return _errno(-ENOENT)
    env.tail_calls += 1
    raise TailCall(prog)


@helper("redirect")
def redirect(mem, pc, r1, r2, r3, r4, r5):
    env = _env(mem, pc, "bpf_redirect")
    if r2:
        return XDP_ABORTED
    env.redirect = {"ifindex": r1 & 0xFFFF_FFFF}
    return XDP_REDIRECT


@helper("redirect_map")
def redirect_map(mem, pc, r1, r2, r3, r4, r5):
    """net/core/filter.c __bpf_xdp_redirect_map: the low two flag bits are the action returned
    when the key is missing; BPF_F_BROADCAST/EXCLUDE_INGRESS are accepted for devmaps (broadcast
    itself is not modelled: it is recorded)."""
    env, m = _map(mem, pc, r1, "bpf_redirect_map")
    action_mask = 3
    allowed = action_mask | (BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS
                             if isinstance(m, DevMap) and not isinstance(m, CpuMap) else 0)
    if r3 & ~allowed:
        return XDP_ABORTED
    key = r2 & 0xFFFF_FFFF
    target = m.target(key) if isinstance(m, DevMap) else None
    if target is None and not r3 & BPF_F_BROADCAST:
        env.redirect = None
        return r3 & action_mask
    env.redirect = {"map": m.name, "key": key}
    if target is not None:
        env.redirect["ifindex" if not isinstance(m, CpuMap) else "cpu_qsize"] = \
            int.from_bytes(target[:4], "little")
    if r3 & BPF_F_BROADCAST:
        env.redirect["flags"] = r3
    return XDP_REDIRECT


# ---- checksums ---------------------------------------------------------------------------------
def _csum_add32(total: int, words: bytes) -> int:
    for (w,) in struct.iter_unpack("<I", words):
        total += w
        total = (total & 0xFFFF_FFFF) + (total >> 32)
    return total


@helper("csum_diff")
def csum_diff(mem, pc, r1, r2, r3, r4, r5):
    """32-bit ones'-complement sum of ~from and to (as the little-endian u32 words they are in
    memory) plus seed, with end-around carry; sizes multiples of 4 totalling at most 512 bytes,
    else -EINVAL. (x86's csum_partial folds the same sum; the kernel and this model agree on it
    modulo 0xffffffff, and exactly unless the sum is a multiple of 0xffffffff.)"""
    from_size, to_size = r2 & 0xFFFF_FFFF, r4 & 0xFFFF_FFFF
    if (from_size | to_size) & 3 or from_size + to_size > CSUM_DIFF_MAX:
        return _errno(-EINVAL)
    frm = mem.read(r1, from_size, pc) if from_size else b""
    to = mem.read(r3, to_size, pc) if to_size else b""
    inverted = bytes(b ^ 0xFF for b in frm)
    return _csum_add32(_csum_add32(r5 & 0xFFFF_FFFF, inverted), to)


# ---- the XDP buffer ----------------------------------------------------------------------------
class _Xdp:
    """The packet pointers of a run: offsets into the packet buffer (data_hard_start = 0)."""

    def __init__(self, mem: Memory):
        self.mem = mem
        self.ctx = mem._pages[CTX_BASE >> PAGE_SHIFT]
        self.pkt = mem._pages[PKT_BASE >> PAGE_SHIFT]
        get = struct.Struct("<I").unpack_from
        self.data = get(self.ctx.buf, CTX_OFF_DATA)[0] - PKT_BASE
        self.data_end = get(self.ctx.buf, CTX_OFF_DATA_END)[0] - PKT_BASE
        self.meta = get(self.ctx.buf, CTX_OFF_DATA_META)[0] - PKT_BASE

    def commit(self) -> None:
        put = struct.Struct("<I").pack_into
        put(self.ctx.buf, CTX_OFF_DATA, PKT_BASE + self.data)
        put(self.ctx.buf, CTX_OFF_DATA_END, PKT_BASE + self.data_end)
        put(self.ctx.buf, CTX_OFF_DATA_META, PKT_BASE + self.meta)
        self.pkt.lo, self.pkt.hi = self.meta, self.data_end


def packet_bytes(mem: Memory) -> bytes:
    """The frame between data and data_end (after adjust_head/meta/tail; metadata excluded)."""
    x = _Xdp(mem)
    return bytes(x.pkt.buf[x.data:x.data_end])


HARD_END = min(FRAME_SIZE - TAILROOM, HEADROOM + PKT_MAX)   # data_hard_end (buffer offset)


@helper("xdp_adjust_head")
def xdp_adjust_head(mem, pc, r1, r2, r3, r4, r5):
    x = _Xdp(mem)
    delta = sign_extend(r2, 32)
    metalen = x.data - x.meta
    data = x.data + delta
    if data < XDP_FRAME_SIZE + metalen or data > x.data_end - ETH_HLEN:
        return _errno(-EINVAL)
    if metalen:
        buf = x.pkt.buf
        buf[x.meta + delta:x.meta + delta + metalen] = buf[x.meta:x.meta + metalen]
    x.meta += delta
    x.data = data
    x.commit()
    return 0


@helper("xdp_adjust_meta")
def xdp_adjust_meta(mem, pc, r1, r2, r3, r4, r5):
    x = _Xdp(mem)
    delta = sign_extend(r2, 32)
    meta = x.meta + delta
    if meta < XDP_FRAME_SIZE or meta > x.data:
        return _errno(-EINVAL)
    metalen = x.data - meta
    if metalen & 3 or metalen > XDP_META_MAX:
        return _errno(-13)            # -EACCES
    x.meta = meta
    x.commit()
    return 0


@helper("xdp_adjust_tail")
def xdp_adjust_tail(mem, pc, r1, r2, r3, r4, r5):
    x = _Xdp(mem)
    delta = sign_extend(r2, 32)
    end = x.data_end + delta
    if end > HARD_END or end < x.data + ETH_HLEN:
        return _errno(-EINVAL)
    if delta > 0:
        x.pkt.buf[x.data_end:end] = bytes(delta)     # the kernel clears grown bytes
    x.data_end = end
    x.commit()
    return 0


@helper("xdp_get_buff_len")
def xdp_get_buff_len(mem, pc, r1, r2, r3, r4, r5):
    x = _Xdp(mem)
    return x.data_end - x.data


def _xdp_span(x: _Xdp, off: int, n: int) -> int | None:
    """Buffer offset of packet bytes [off, off + n), or None with the kernel's errno."""
    if off > 0xFFFF or n > 0xFFFF:
        return -EFAULT
    if off + n > x.data_end - x.data:
        return -EINVAL
    return x.data + off


@helper("xdp_load_bytes")
def xdp_load_bytes(mem, pc, r1, r2, r3, r4, r5):
    x = _Xdp(mem)
    at = _xdp_span(x, r2 & 0xFFFF_FFFF, r4 & 0xFFFF_FFFF)
    if at < 0:
        return _errno(at)
    mem.write(r3, bytes(x.pkt.buf[at:at + (r4 & 0xFFFF_FFFF)]), pc)
    return 0


@helper("xdp_store_bytes")
def xdp_store_bytes(mem, pc, r1, r2, r3, r4, r5):
    x = _Xdp(mem)
    n = r4 & 0xFFFF_FFFF
    at = _xdp_span(x, r2 & 0xFFFF_FFFF, n)
    if at < 0:
        return _errno(at)
    x.pkt.buf[at:at + n] = mem.read(r3, n, pc)
    return 0


# ---- routing -----------------------------------------------------------------------------------
@helper("fib_lookup")
def fib_lookup(mem, pc, r1, r2, r3, r4, r5):
    """Against the forwarding table the user gives (jit/ebpf/fib.py documents the subset)."""
    env = _env(mem, pc, "bpf_fib_lookup")
    if env.fib is None:
        raise InterpError(pc, "bpf_fib_lookup needs a forwarding table: give one with --fib FILE "
                              "(format in jit/ebpf/fib.py)")
    if r3 & 0xFFFF_FFFF < fib.PARAMS_SIZE:
        return _errno(-EINVAL)
    params = bytearray(mem.read(r2, fib.PARAMS_SIZE, pc))
    try:
        rc = env.fib.lookup(params, r4)
    except fib.FibError as exc:
        raise InterpError(pc, str(exc)) from None
    mem.write(r2, bytes(params), pc)
    return _errno(rc)


LOOPBACK_MTU = 65536          # the device BPF_PROG_TEST_RUN receives on (ifindex 1)


@helper("check_mtu")
def check_mtu(mem, pc, r1, r2, r3, r4, r5):
    """net/core/filter.c bpf_xdp_check_mtu: is the frame (or *mtu_len as an L3 length), grown by
    len_diff, within the device's MTU plus its 14-byte L2 header? Writes the MTU to *mtu_len.
    Devices: ifindex 0 or 1 is the receiving loopback (MTU 65536); others come from the --fib
    table's interfaces (-ENODEV if absent). Flags must be 0 (-EINVAL)."""
    env = _env(mem, pc, "bpf_check_mtu")
    if r5:
        return _errno(-EINVAL)
    ifindex = r2 & 0xFFFF_FFFF
    if ifindex in (0, 1):
        mtu = LOOPBACK_MTU
    else:
        dev = env.fib.interfaces.get(ifindex) if env.fib is not None else None
        if dev is None:
            return _errno(-fib.ENODEV)
        mtu = dev.mtu
    x = _Xdp(mem)
    mtu_len = struct.unpack("<I", mem.read(r3, 4, pc))[0]
    length = mtu_len + ETH_HLEN if mtu_len else x.data_end - x.data
    length += sign_extend(r4, 32)
    mem.write(r3, struct.pack("<I", mtu), pc)
    return 1 if length > mtu + ETH_HLEN else 0       # BPF_MTU_CHK_RET_FRAG_NEEDED / SUCCESS


# ---- events ------------------------------------------------------------------------------------
_FMT = re.compile(rb"%([-+ #0]*)(\d*)(?:\.(\d+))?(hh|h|ll|l|z)?([diuxXcsp%])")


def _read_cstr(mem: Memory, addr: int, pc: int, limit: int = 256) -> bytes:
    out = bytearray()
    for i in range(limit):
        b = mem.read(addr + i, 1, pc)
        if b == b"\0":
            break
        out += b
    return bytes(out)


def format_printk(mem: Memory, pc: int, fmt: bytes, args: list[int]) -> str:
    """bpf_trace_printk's formatting: %d %i %u %x %X %c %s %p %% with l/ll/h/hh/z, flags and width.
    More conversions than arguments (3 at most) -> InterpError (the kernel returns -EINVAL)."""
    out = bytearray()
    pos = 0
    args = list(args)
    for m in _FMT.finditer(fmt):
        out += fmt[pos:m.start()]
        pos = m.end()
        flags, width, prec, length, conv = m.groups()
        if int(width or 0) > PRINTK_MAX or int(prec or 0) > PRINTK_MAX:
            raise InterpError(pc, f"bpf_trace_printk: field width above {PRINTK_MAX}")
        if conv == b"%":
            out += b"%"
            continue
        if not args:
            raise InterpError(pc, "bpf_trace_printk: more conversions than arguments")
        v = args.pop(0)
        bits = 64 if length in (b"l", b"ll", b"z") or conv == b"p" else 32
        v &= (1 << bits) - 1
        spec = "%" + flags.decode() + width.decode() + (f".{prec.decode()}" if prec else "")
        if conv in (b"d", b"i"):
            text = (spec + "d") % (v - (1 << bits) if v >> (bits - 1) else v)
        elif conv == b"u":
            text = (spec + "d") % v
        elif conv in (b"x", b"X"):
            text = (spec + conv.decode()) % v
        elif conv == b"c":
            text = (spec + "c") % chr(v & 0xFF)
        elif conv == b"s":
            text = (spec + "s") % _read_cstr(mem, v, pc).decode(errors="replace")
        else:
            text = (spec + "s") % f"{v:016x}"
        out += text.encode()
    out += fmt[pos:]
    return out.decode(errors="replace")


@helper("trace_printk")
def trace_printk(mem, pc, r1, r2, r3, r4, r5):
    env = _env(mem, pc, "bpf_trace_printk")
    fmt = mem.read(r1, r2 & 0xFFFF_FFFF, pc)
    if not fmt or fmt[-1] != 0:
        return _errno(-EINVAL)         # the format must be a NUL-terminated string
    text = format_printk(mem, pc, fmt.split(b"\0", 1)[0], [r3, r4, r5])
    env.events.append({"helper": "bpf_trace_printk", "text": text})
    return len(text.encode()) + 1


@helper("perf_event_output")
def perf_event_output(mem, pc, r1, r2, r3, r4, r5):
    """XDP flavour: the upper 32 flag bits ask for that many packet bytes after the data."""
    env, m = _map(mem, pc, r2, "bpf_perf_event_output")
    if not isinstance(m, EventMap) or m.d.type_name != "perf_event_array":
        raise InterpError(pc, f"bpf_perf_event_output: map {m.name!r} is not a perf_event_array")
    if r3 & ~(0xFFFF_FFFF | BPF_F_CTXLEN_MASK):
        return _errno(-EINVAL)
    index = r3 & 0xFFFF_FFFF
    if index != BPF_F_CURRENT_CPU and index >= m.max_entries:
        return _errno(-E2BIG)
    ctxlen = (r3 & BPF_F_CTXLEN_MASK) >> BPF_F_CTXLEN_SHIFT
    x = _Xdp(mem)
    if ctxlen > x.data_end - x.data:
        return _errno(-EFAULT)
    event = {"helper": "bpf_perf_event_output", "map": m.name,
             "data": mem.read(r4, r5 & 0xFFFF_FFFF, pc).hex()}
    if ctxlen:
        event["packet"] = bytes(x.pkt.buf[x.data:x.data + ctxlen]).hex()
    env.events.append(event)
    return 0


@helper("ringbuf_reserve")
def ringbuf_reserve(mem, pc, r1, r2, r3, r4, r5):
    """A zeroed record of `size` bytes in the run's reservation area (memmap.RINGBUF_BASE), or NULL
    if flags are set or the record does not fit the ring (max_entries bytes, 8-byte header per
    record, records rounded up to 8). Submitting records it as an event; discarding drops it."""
    env, m = _map(mem, pc, r1, "bpf_ringbuf_reserve")
    if not isinstance(m, EventMap) or m.d.type_name != "ringbuf":
        raise InterpError(pc, f"bpf_ringbuf_reserve: map {m.name!r} is not a ringbuf")
    size = r2 & M64
    used = sum(8 + ((n + 7) & ~7) for mm, n in env.reserved.values() if mm is m)
    if r3 or size > 0xFFFF_FFFF or used + 8 + ((size + 7) & ~7) > m.max_entries:
        return 0
    region = mem._pages.get(RINGBUF_BASE >> PAGE_SHIFT)
    if region is None:
        region = mem.add(Region("ringbuf records", RINGBUF_BASE, bytearray(), 0, 0))
    at = (len(region.buf) + 7) & ~7
    region.buf.extend(bytes(at + size - len(region.buf)))
    region.hi = len(region.buf)
    env.reserved[RINGBUF_BASE + at] = (m, size)
    return RINGBUF_BASE + at


def _ringbuf_record(mem, pc, addr: int, name: str):
    env = _env(mem, pc, name)
    rec = env.reserved.pop(addr, None)
    if rec is None:
        raise InterpError(pc, f"{name}: {addr:#x} is not a record bpf_ringbuf_reserve gave")
    return env, rec


@helper("ringbuf_submit")
def ringbuf_submit(mem, pc, r1, r2, r3, r4, r5):
    env, (m, size) = _ringbuf_record(mem, pc, r1, "bpf_ringbuf_submit")
    env.events.append({"helper": "bpf_ringbuf_submit", "map": m.name,
                       "data": mem.read(r1, size, pc).hex() if size else ""})
    return 0


@helper("ringbuf_discard")
def ringbuf_discard(mem, pc, r1, r2, r3, r4, r5):
    _ringbuf_record(mem, pc, r1, "bpf_ringbuf_discard")
    return 0


@helper("ringbuf_output")
def ringbuf_output(mem, pc, r1, r2, r3, r4, r5):
    env, m = _map(mem, pc, r1, "bpf_ringbuf_output")
    if not isinstance(m, EventMap) or m.d.type_name != "ringbuf":
        raise InterpError(pc, f"bpf_ringbuf_output: map {m.name!r} is not a ringbuf")
    if r4 & ~3:
        return _errno(-EINVAL)
    env.events.append({"helper": "bpf_ringbuf_output", "map": m.name,
                       "data": mem.read(r2, r3 & 0xFFFF_FFFF, pc).hex()})
    return 0

