"""jitnic_csum against the golden model of bpf_csum_diff's sum (jit.ebpf.helpers._csum_add32: the
interpreter's word-by-word end-around-carry sum of the inverted `from` words, the `to` words and
the seed).

Each sum: a seed, then `from` and `to` byte strings (multiples of 4, together at most MAX_BYTES)
added as the executor adds them, 8 bytes at a time while at least 8 remain, then 4; random idle
cycles between adds. Corners: nothing added (the seed alone, 0 included), all-zero operands (sum
0), all-ones words, a maximal sum (MAX_BYTES of 0xff.. `to` words with seed 0xffffffff), sums
that are multiples of 0xffffffff (the representation the model picks), and random data.
MAX_BYTES is swept (the kernel's 512, and a small accumulator).
"""
from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from jit.ebpf.helpers import _csum_add32
from tb.common.runner import param, run_cocotb

RANDOM_SUMS = 200


def model(seed: int, frm: bytes, to: bytes) -> int:
    """csum_diff's result for in-range sizes (jit/ebpf/helpers.py csum_diff)."""
    return _csum_add32(_csum_add32(seed, bytes(b ^ 0xFF for b in frm)), to)


class CsumTb:
    def __init__(self, dut):
        self.dut = dut
        self.max_bytes = param("MAX_BYTES")
        Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
        for sig in ("rst", "clear", "seed", "add", "add_wide", "add_invert", "data"):
            getattr(dut, sig).value = 0

    async def reset(self):
        self.dut.rst.value = 1
        for _ in range(2):
            await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0

    async def run(self, rng: random.Random, seed: int, frm: bytes, to: bytes) -> int:
        """Drive one sum (inputs change on falling edges) and return `sum` after the last add."""
        dut = self.dut
        dut.clear.value = 1
        dut.seed.value = seed
        dut.add.value = 1                  # clear wins over a simultaneous add
        dut.data.value = rng.getrandbits(64)
        await FallingEdge(dut.clk)
        dut.clear.value = 0
        dut.seed.value = rng.getrandbits(32)   # sampled only with clear
        for data, invert in ((frm, 1), (to, 0)):
            at = 0
            while at < len(data):
                n = 8 if len(data) - at >= 8 else 4
                while rng.random() < 0.2:      # idle cycles: add low, data garbage
                    dut.add.value = 0
                    dut.data.value = rng.getrandbits(64)
                    await FallingEdge(dut.clk)
                chunk = data[at:at + n]
                dut.add.value = 1
                dut.add_wide.value = int(n == 8)
                dut.add_invert.value = invert
                # a 4-byte add ignores the upper word: garbage there
                dut.data.value = int.from_bytes(chunk + rng.randbytes(8 - n), "little")
                await FallingEdge(dut.clk)
                at += n
        dut.add.value = 0
        dut.data.value = rng.getrandbits(64)
        return dut.sum.value.to_unsigned()


def corner_cases(max_bytes: int) -> list[tuple[str, int, bytes, bytes]]:
    ones = b"\xff" * max_bytes
    half = max_bytes // 8 * 4
    cases = [
        ("seed alone 0", 0, b"", b""),
        ("seed alone 0xffffffff", 0xFFFF_FFFF, b"", b""),
        ("all-zero operands", 0, b"", bytes(max_bytes)),
        ("from all ones: inverted zeros", 0, ones[:half], b""),
        ("from zeros: inverted ones", 0, bytes(half), b""),
        ("maximal sum", 0xFFFF_FFFF, b"", ones),
        ("x + ~x: a multiple of 0xffffffff", 0, b"\x12\x34\x56\x78", b"\x12\x34\x56\x78"),
        ("seed 1 + 0xfffffffe", 1, b"", b"\xfe\xff\xff\xff"),
        ("the fold carries twice", 0xFFFF_FFFF, b"", b"\xff\xff\xff\xff\x01\x00\x00\x00"),
        ("odd word count", 7, b"\x01\x02\x03\x04", b"\xaa\xbb\xcc\xdd\x11\x22\x33\x44" * 2),
    ]
    return [c for c in cases if len(c[2]) + len(c[3]) <= max_bytes]


@cocotb.test()
async def sums(dut):
    tb = CsumTb(dut)
    await tb.reset()
    rng = random.Random(f"csum-{tb.max_bytes}")
    seen = {"zero": 0, "all ones": 0, "max": 0}
    cases = corner_cases(tb.max_bytes)
    for _ in range(RANDOM_SUMS):
        total = rng.randrange(0, tb.max_bytes + 1, 4)
        n_from = rng.randrange(0, total + 1, 4)
        fill = rng.choice(["random", "random", "ones", "zeros"])
        gen = {"random": lambda n: rng.randbytes(n), "ones": lambda n: b"\xff" * n,
               "zeros": lambda n: bytes(n)}[fill]
        cases.append(("random", rng.choice([0, 0xFFFF_FFFF, rng.getrandbits(32)]),
                      gen(n_from), gen(total - n_from)))
    for what, seed, frm, to in cases:
        want = model(seed, frm, to)
        got = await tb.run(rng, seed, frm, to)
        assert got == want, (f"{what}: seed {seed:#x}, from {frm.hex()}, to {to.hex()}: "
                             f"sum {got:#x} != model {want:#x}")
        seen["zero"] += want == 0
        seen["all ones"] += want == 0xFFFF_FFFF
        seen["max"] += len(frm) + len(to) == tb.max_bytes
    dut._log.info("csum MAX_BYTES=%d: %d sums, %s", tb.max_bytes, len(cases), seen)
    assert all(seen.values()), seen     # the corners the bench claims did occur


CONFIGS = [{"MAX_BYTES": 512}, {"MAX_BYTES": 8}]


@pytest.mark.rtl
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "b{MAX_BYTES}".format(**c))
def test_csum(cfg):
    run_cocotb("jitnic_csum", "tb.csum.test_csum", parameters=cfg)
