"""tools/ilp.py's static schedules (the measurement behind lanes over VLIW bundles): in-order
bundles respect true dependences, the load latency, one memory access per bundle and `exit` last;
the lane schedule is the executor's cost table."""
from __future__ import annotations

from jit.ebpf import isa
from tools import ilp


def test_two_independent_chains_pair_up():
    insns = [isa.mov64_imm(1, 1), isa.mov64_imm(2, 2), isa.alu64_imm(isa.BPF_ADD, 1, 1),
             isa.alu64_imm(isa.BPF_ADD, 2, 1), isa.mov64_reg(0, 1), isa.exit_insn()]
    assert ilp.lane_cycles(insns) == 6
    assert ilp.bundle_cycles(insns, 1) == 6
    assert ilp.bundle_cycles(insns, 2) == 4          # {mov, mov} {add, add} {mov r0} {exit}


def test_one_chain_does_not_shrink():
    insns = [isa.mov64_imm(1, 1), isa.alu64_imm(isa.BPF_ADD, 1, 1), isa.alu64_imm(isa.BPF_MUL, 1, 3),
             isa.mov64_reg(0, 1), isa.exit_insn()]
    assert ilp.bundle_cycles(insns, 4) == ilp.bundle_cycles(insns, 1) == 5


def test_loads_share_one_memory_port_and_take_two_cycles():
    insns = [isa.ldx(4, 2, 1, 0), isa.ldx(4, 3, 1, 4), isa.ldx(4, 4, 1, 8), isa.mov64_imm(0, 2),
             isa.exit_insn()]
    assert ilp.lane_cycles(insns) == 8
    assert ilp.bundle_cycles(insns, 2) == 4                 # {ld} {ld} {ld, mov} {exit}
    assert ilp.bundle_cycles(insns, 2, mem_ports=2) == 3    # {ld, ld} {ld, mov} {exit}
