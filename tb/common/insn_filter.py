#!/usr/bin/env python3
"""GTKWave process filter for the lanes' jitnic_top.g_lane[N].dbg_insn: one hex instruction word per stdin line in,
its eBPF disassembly (jit.ebpf.isa, llvm-objdump syntax) per stdout line out.

GTKWave starts it once per trace (`^>1` in the layout) and waits for one answer line per value,
so every line is answered and flushed, whatever it holds. Runs under any python3 (no venv).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # the project root, for `jit`

from jit.ebpf import isa  # noqa: E402


def mnemonic(text: str) -> str:
    """The instruction in the hex word `text` (the slot's 8 bytes, little-endian), or `text`
    itself when it is not one 64-bit value (x/z bits, empty)."""
    word = text.strip()
    try:
        value = int(word, 16)
    except ValueError:
        return word
    if not 0 <= value < 1 << 64:
        return word
    slot = value.to_bytes(8, "little")
    if slot[0] == isa.LD_IMM64:
        # the high 32 bits live in the next slot, which this value does not carry: show the low half
        slot += bytes(8)
    insn = isa.decode(slot)[0]
    return isa.disasm_insn(insn)


def main() -> int:
    for line in sys.stdin:
        print(mnemonic(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
