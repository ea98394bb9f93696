"""The address map an XDP program sees: where context, packet, stack and map memory live.

One source of truth. The reference interpreter defines it; the tracer, the optimizer, the NIC model
and (through the generated `rtl/jitnic_abi.vh`) the RTL executor adopt it, so a trace runs at the
same addresses on the host and on the NIC. All addresses fit in 32 bits, so a
pointer survives the 32-bit `xdp_md` loads (`ldxw r2, [r1+0]`) that XDP programs use for `data`.
"""

CTX_BASE = 0x1000_0000       # struct xdp_md (read-only), CTX_SIZE bytes
CTX_SIZE = 24                # data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex (u32 each)
CTX_OFF_DATA = 0
CTX_OFF_DATA_END = 4
CTX_OFF_DATA_META = 8
CTX_OFF_INGRESS_IFINDEX = 12
CTX_OFF_RX_QUEUE_INDEX = 16
CTX_OFF_EGRESS_IFINDEX = 20

PKT_BASE = 0x2000_0000       # packet buffer; the frame starts HEADROOM bytes in
HEADROOM = 256               # XDP_PACKET_HEADROOM, as in Linux
PKT_DATA = PKT_BASE + HEADROOM  # value of xdp_md.data (and data_meta: no metadata)
PKT_MAX = 4096               # largest frame the buffer holds (bytes after data)

STACK_BASE = 0x3000_0000     # lowest stack byte
STACK_SIZE = 512
STACK_TOP = STACK_BASE + STACK_SIZE  # initial r10 (frame pointer), one past the top byte

MAP_BASE = 0x4000_0000       # map value memory: map k (its fd) at MAP_BASE + k * MAP_STRIDE
MAP_STRIDE = 1 << 32         # each map in its own 256 MiB page (the interpreter's page = addr >> 28)
MAP_HANDLE_OFF = 0x0FFF_F000  # `r = map_by_fd(k)` gives map_base(k) + MAP_HANDLE_OFF: an address
                             # in the map's page past its values, so a load through it faults


RINGBUF_BASE = 0x5000_0000   # bpf_ringbuf_reserve's records of one run (host interpreter)


def map_base(fd: int) -> int:
    """Address of map `fd`'s value memory (host interpreter; the NIC's map memory is issue 10)."""
    return MAP_BASE + fd * MAP_STRIDE


def map_handle(fd: int) -> int:
    """The value a program holds for map `fd` (`struct bpf_map *` in the kernel)."""
    return map_base(fd) + MAP_HANDLE_OFF


def map_fd_of_handle(addr: int) -> int | None:
    """The map a handle names, or None if `addr` is not a map handle."""
    fd, off = divmod(addr - MAP_BASE, MAP_STRIDE)
    return fd if off == MAP_HANDLE_OFF and fd >= 0 else None

# XDP actions (enum xdp_action)
XDP_ABORTED = 0
XDP_DROP = 1
XDP_PASS = 2
XDP_TX = 3
XDP_REDIRECT = 4
ACTION_NAMES = {XDP_ABORTED: "XDP_ABORTED", XDP_DROP: "XDP_DROP", XDP_PASS: "XDP_PASS",
                XDP_TX: "XDP_TX", XDP_REDIRECT: "XDP_REDIRECT"}


def action_name(action: int) -> str:
    return ACTION_NAMES.get(action, f"unknown({action})")
