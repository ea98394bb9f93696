"""Compare cells: the placement rule (jit/nic/validate.py place_atoms, plan_entry), the model's
mirror of the commit engine (CELLS_FULL changes nothing) and the host's handling (refusals by
name). The RTL side is tb/axil (placement against plan_entry) and tb/match (cells)."""
from __future__ import annotations

import pytest

from jit.ebpf import isa
from jit.host.miss_handler import CompiledTrace, Host
from jit.nic import encoding as enc
from jit.nic.encoding import Atom, AtomKind, AtomOp, Counter, ErrorCode
from jit.nic.model import NicConfig, NicModel
from jit.nic.params import ParamError
from jit.nic.validate import condition_placement, place_atoms, plan_entry


def pkt(offset: int, width: int = 2, op=AtomOp.EQ, const: int = 0) -> Atom:
    return Atom(AtomKind.PKT, op, offset, width, True, (1 << 8 * width) - 1, const)


def length(op=AtomOp.GE, const: int = 14) -> Atom:
    return Atom(AtomKind.LEN, op, 0, 4, True, 0xFFFF_FFFF, const)


RET = isa.encode([isa.mov64_imm(0, 2), isa.exit_insn()])


def ctrls(atoms):
    return [a.words()[0] for a in atoms]


def test_place_slot_cells_then_general():
    # 4 slots, 2 length cells (4, 5), 2 general atoms (6, 7)
    plan = place_atoms((2, None, 0, 2, None, None), n_slots=4, n_len=2, n_gen=2)
    assert plan.error == ErrorCode.NONE
    # slot 2's cell, length cell, slot 0's cell, general (second atom on slot 2), length cell,
    # general (third length atom)
    assert plan.atom_cells == (2, 4, 0, 6, 5, 7)
    # slot 0's cell is taken and both general atoms are: no cell for the seventh atom
    full = place_atoms((2, None, 0, 2, None, None, 0), n_slots=4, n_len=2, n_gen=2)
    assert (full.error, full.index, full.atom_cells) == (ErrorCode.CELLS_FULL, 6, ())


def test_place_without_length_cells_or_general_atoms():
    assert place_atoms((None,), n_slots=1, n_len=0, n_gen=1).atom_cells == (1,)
    full = place_atoms((None, None), n_slots=1, n_len=0, n_gen=1)
    assert (full.error, full.index) == (ErrorCode.CELLS_FULL, 1)
    # no general atoms: one atom per field and the length cells only
    assert place_atoms((0, 1, None), n_slots=2, n_len=1, n_gen=0).atom_cells == (0, 1, 2)
    repeat = place_atoms((0, 1, 0), n_slots=2, n_len=1, n_gen=0)
    assert (repeat.error, repeat.index) == (ErrorCode.CELLS_FULL, 2)


def test_plan_entry_reports_the_first_failing_atom():
    """The commit engine places slot and cell of one atom per cycle: whichever error comes first
    in atom order is the one reported."""
    fields = [0] * 2
    # atom 2 repeats field 12 with no general atom left; atom 3 would need a third slot
    atoms = [pkt(12), pkt(14), pkt(12, op=AtomOp.NE), pkt(40)]
    plan = plan_entry(ctrls(atoms), fields, 0, n_len=1, n_gen=0)
    assert (plan.error, plan.index) == (ErrorCode.CELLS_FULL, 2)
    # the other way round: the third field finds no slot before any repeat
    atoms = [pkt(12), pkt(14), pkt(40), pkt(12, op=AtomOp.NE)]
    plan = plan_entry(ctrls(atoms), fields, 0, n_len=1, n_gen=0)
    assert (plan.error, plan.index) == (ErrorCode.SLOTS_FULL, 2)
    ok = plan_entry(ctrls([pkt(12), length(), pkt(12, op=AtomOp.NE)]), fields, 0, 1, 1)
    assert ok.error == ErrorCode.NONE
    assert ok.slots.atom_slots == (0, None, 0) and ok.cells.atom_cells == (0, 2, 3)


def test_cells_do_not_depend_on_other_entries():
    """A shared slot is read through this entry's own cell: whether a condition fits its cells
    does not depend on what the other entries hold."""
    atoms = ctrls([pkt(30), pkt(12), pkt(12, op=AtomOp.LT)])
    alone = condition_placement(atoms, n_slots=4, n_len=1, n_gen=1)
    fields = [0, 0, 0, 0]
    fields[3] = plan_entry(ctrls([pkt(12)]), [0] * 4, 0).slots.configure[0][1]
    shared = plan_entry(atoms, fields, in_use=0b1000, n_len=1, n_gen=1)   # 12 lives in slot 3
    assert alone.error == shared.error == ErrorCode.NONE
    assert shared.slots.atom_slots == (0, 3, 3) and shared.cells.atom_cells == (0, 3, 5)
    too_many = ctrls([pkt(12), pkt(12, op=AtomOp.NE), pkt(12, op=AtomOp.LT)])
    assert condition_placement(too_many, n_slots=4, n_len=1, n_gen=1).error == ErrorCode.CELLS_FULL


def test_model_cells_full_changes_nothing():
    nic = NicModel(NicConfig(n_entries=2, n_slots=4, n_len_atoms=1, n_gen_atoms=1))
    assert nic.install([pkt(12), pkt(12, op=AtomOp.NE)], RET)[2] == ErrorCode.NONE
    words, entries = nic.slot_words(), list(nic.entries)
    # a third atom on field 14 needs a second general atom
    refused = [pkt(14), pkt(14, op=AtomOp.NE), pkt(14, op=AtomOp.LT)]
    assert nic.install(refused, RET) == (None, False, ErrorCode.CELLS_FULL)
    assert nic.counters[Counter.INSTALL_ERRORS] == 1 and nic.counters[Counter.INSTALLS] == 1
    assert nic.slot_words() == words and nic.entries == entries
    # two length atoms: one length cell and the general atom
    assert nic.install([length(), length(AtomOp.LE, 1500)], RET) == (1, False, ErrorCode.NONE)
    # and the conditions still mean what their atoms say
    frame = bytearray(64)
    frame[12:14] = b"\x00\x00"
    assert nic.lookup(bytes(frame)) == 1       # entry 0 needs 12 == 0 and 12 != 0: never holds


def test_default_cells_fit_the_measured_paths():
    """The lead's census (1052 paths): at most 5 atoms on one field, at most 4 atoms beyond the
    first on their fields, at most 2 length atoms: every such path fits the default cells."""
    atoms = ctrls([pkt(12)] * 5 + [length(), length(AtomOp.LE, 1500)])
    assert condition_placement(atoms).error == ErrorCode.NONE
    assert condition_placement(atoms + ctrls([pkt(12)])).error == ErrorCode.CELLS_FULL
    assert (enc.N_LEN_ATOMS, enc.N_GEN_ATOMS) == (2, 4)


def test_host_counts_cells_full_by_name():
    nic = NicModel(NicConfig(n_entries=2, n_len_atoms=0, n_gen_atoms=1))
    host = Host([isa.mov64_imm(0, 2), isa.exit_insn()], nic, max_atoms=16, max_trace_len=128,
                hdr_bytes=128)
    compiled = CompiledTrace((length(), length(AtomOp.LE, 1500)), RET, 2, 2)
    assert host.commit(compiled) is None
    assert host.stats.install_error_codes == {"CELLS_FULL": 1}
    assert not host.mirror            # a refused path is not remembered


def test_config_needs_a_cell_for_length_atoms():
    with pytest.raises(ParamError, match="N_LEN_ATOMS \\+ N_GEN_ATOMS"):
        NicConfig(n_len_atoms=0, n_gen_atoms=0)
    with pytest.raises(ParamError, match="N_GEN_ATOMS"):
        NicConfig(n_gen_atoms=65)


def test_trace_says_when_a_condition_cannot_be_placed(tmp_path, capsys):
    """`jitnic trace` places the NIC entry's atoms in the compare cells: without general atoms a
    parser_classifier path with two atoms on one field is refused, CELLS_FULL at that atom."""
    from jit.cli import main as jitnic
    from jit.ebpf import elf
    from jit.host.miss_handler import compile_path
    from jit.paths import program_object
    from jit.traffic import pcap, workloads
    prog = program_object("parser_classifier")
    if not prog.exists():
        pytest.skip("programs not built (make programs)")
    insns = elf.load_program(prog).insns
    frames = list(workloads.generate("zipf", 40, seed=1))
    for index, frame in enumerate(frames):
        _tr, compiled, _reason = compile_path(insns, frame, max_atoms=16, max_trace_len=128,
                                              hdr_bytes=128)
        if compiled is None:
            continue
        plan = condition_placement(ctrls(compiled.atoms), enc.N_SLOTS, 2, 0)
        if plan.error == ErrorCode.CELLS_FULL:
            break
    else:
        raise AssertionError("no zipf frame took a parser_classifier path repeating a field")
    path = tmp_path / "z.pcap"
    with pcap.PcapWriter(path) as w:
        for f in frames:
            w.write(f)
    args = ["trace", str(prog), "--pcap", str(path), "--index", str(index)]
    assert jitnic(args + ["--gen-atoms", "0"]) == 1
    out = capsys.readouterr().out
    assert f"not cacheable: the condition does not fit an entry's compare cells: CELLS_FULL at " \
           f"atom {plan.index} " in out
    assert jitnic(args) == 0
    out = capsys.readouterr().out
    fits = condition_placement(ctrls(compiled.atoms)).cells.atom_cells
    general = sum(c >= enc.N_SLOTS + enc.N_LEN_ATOMS for c in fits)
    assert general >= 1 and f"{general} of {enc.N_GEN_ATOMS} general atoms" in out
