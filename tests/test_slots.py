"""Field extractor slots: the allocation rule (jit/nic/validate.py allocate_slots), the model's
mirror of the commit engine (SLOTS_FULL, release on eviction and INVALIDATE_ALL, REG_SLOTS) and
the host's handling (paths needing more fields than N_SLOTS, rejected installs by name)."""
from __future__ import annotations

from jit.ebpf import isa
from jit.host.miss_handler import Host
from jit.nic import encoding as enc
from jit.nic.encoding import Atom, AtomKind, AtomOp, Counter, ErrorCode
from jit.nic.model import NicConfig, NicModel
from jit.nic.validate import allocate_slots, distinct_fields, field_word


def pkt(offset: int, width: int = 2, be: bool = True, op=AtomOp.EQ, const: int = 0) -> Atom:
    return Atom(AtomKind.PKT, op, offset, width, be, (1 << 8 * width) - 1, const)


LEN = Atom(AtomKind.LEN, AtomOp.GE, 0, 4, True, 0xFFFF_FFFF, 14)
RET = isa.encode([isa.mov64_imm(0, 2), isa.exit_insn()])


def ctrls(atoms):
    return [a.words()[0] for a in atoms]


def test_field_word_normalizes_one_byte_order():
    assert field_word(pkt(5, 1, be=False).words()[0]) == field_word(pkt(5, 1, be=True).words()[0])
    assert field_word(pkt(5, 2, be=False).words()[0]) != field_word(pkt(5, 2, be=True).words()[0])
    assert field_word(LEN.words()[0]) is None
    # the mask, constant and operator do not name the field
    assert field_word(pkt(12, op=AtomOp.NE, const=7).words()[0]) == field_word(pkt(12).words()[0])
    assert distinct_fields(ctrls([pkt(12), pkt(12, op=AtomOp.LT), pkt(14, 1), LEN])) == 2


def test_allocate_shares_then_takes_lowest_free():
    fields = [0] * 4
    plan = allocate_slots(ctrls([pkt(12), LEN, pkt(23, 1), pkt(12, op=AtomOp.NE)]), fields, 0)
    assert plan.error == ErrorCode.NONE
    assert plan.atom_slots == (0, None, 1, 0)          # the second atom on 12 shares slot 0
    assert plan.uses == 0b11
    assert [k for k, _ in plan.configure] == [0, 1]
    for k, word in plan.configure:
        fields[k] = word
    # slot 1 in use by another entry: shared; slot 0 free (its entry was the victim): reused
    plan2 = allocate_slots(ctrls([pkt(23, 1), pkt(30, 4)]), fields, in_use=0b10)
    assert plan2.atom_slots == (1, 0) and plan2.configure == ((0, field_word(pkt(30, 4).words()[0])),)
    # a free slot holding the same field is not "shared": only slots in use are
    plan3 = allocate_slots(ctrls([pkt(12)]), fields, in_use=0b10)
    assert plan3.atom_slots == (0,) and plan3.configure


def test_allocate_full_names_the_atom():
    fields = [field_word(pkt(k).words()[0]) for k in range(2)]
    plan = allocate_slots(ctrls([pkt(0), LEN, pkt(40)]), fields, in_use=0b11)
    assert (plan.error, plan.index) == (ErrorCode.SLOTS_FULL, 2)


def test_model_slots_full_changes_nothing_and_victim_releases():
    nic = NicModel(NicConfig(n_entries=2, n_slots=2))
    assert nic.install([pkt(12), pkt(23, 1)], RET)[2] == ErrorCode.NONE       # entry 0: slots 0, 1
    words = nic.slot_words()
    assert all(w & enc.SLOT_IN_USE for w in words)
    # entry 1 is free, so nothing is evicted: no slot for the new field
    assert nic.install([pkt(12), pkt(30)], RET) == (None, False, ErrorCode.SLOTS_FULL)
    assert nic.counters[Counter.INSTALL_ERRORS] == 1 and nic.entries[1] is None
    assert nic.slot_words() == words
    # fields already held are shared
    assert nic.install([pkt(23, 1, be=False)], RET) == (1, False, ErrorCode.NONE)
    # both entries valid: the LRU victim (entry 0) releases slot 0 for the new field, slot 1 stays
    index, evicted, err = nic.install([pkt(30), pkt(23, 1)], RET)
    assert (index, evicted, err) == (0, True, ErrorCode.NONE)
    assert nic.slot_words()[0] == field_word(pkt(30).words()[0]) | enc.SLOT_IN_USE
    nic.invalidate_all()
    assert not any(w & enc.SLOT_IN_USE for w in nic.slot_words())
    assert nic.install([pkt(1), pkt(2)], RET)[2] == ErrorCode.NONE


def test_model_matches_with_shared_slots():
    """Slots are an implementation detail of matching: conditions mean what their atoms say."""
    nic = NicModel(NicConfig(n_entries=4, n_slots=2))
    nic.install([pkt(12, const=0x0800), pkt(23, 1, const=6)], RET)
    nic.install([pkt(12, const=0x86DD)], RET)
    frame = bytearray(64)
    frame[12:14] = b"\x86\xdd"
    assert nic.lookup(bytes(frame)) == 1
    frame[12:14], frame[23] = b"\x08\x00", 6
    assert nic.lookup(bytes(frame)) == 0


class _Nic:
    def __init__(self, err):
        self.err = err

    def install(self, atoms, code):
        return None, False, self.err


def test_host_counts_rejections_by_name():
    host = Host([isa.mov64_imm(0, 2), isa.exit_insn()], _Nic(ErrorCode.SLOTS_FULL),
                max_atoms=16, max_trace_len=128, hdr_bytes=128)
    from jit.host.miss_handler import CompiledTrace
    compiled = CompiledTrace((pkt(12),), RET, 2, 2)
    assert host.commit(compiled) is None
    assert host.stats.install_errors == 1
    assert host.stats.install_error_codes == {"SLOTS_FULL": 1}
    assert not host.mirror            # a refused path is not remembered: its next miss asks again


def test_host_refuses_paths_with_more_fields_than_slots():
    import pytest
    from jit.ebpf import elf
    from jit.host.miss_handler import compile_path
    from jit.paths import program_object
    from jit.traffic import workloads
    path = program_object("parser_classifier")
    if not path.exists():
        pytest.skip("programs not built (make programs)")
    insns = elf.load_program(path).insns
    limits = dict(max_atoms=16, max_trace_len=128, hdr_bytes=128)
    for frame in workloads.generate("zipf", 20, seed=1):
        _tr, compiled, _reason = compile_path(insns, frame, n_slots=64, **limits)
        if compiled is None:
            continue
        need = distinct_fields(ctrls(compiled.atoms))
        if need < 2:
            continue
        _tr, refused, reason = compile_path(insns, frame, n_slots=need - 1, **limits)
        assert refused is None and reason == \
            f"too many fields: {need} extractor slots > N_SLOTS {need - 1}"
        assert compile_path(insns, frame, n_slots=need, **limits)[1] == compiled
        return
    raise AssertionError("no zipf frame took a parser_classifier path with two fields")


def test_extractor_measurement_is_consistent():
    """tools/extractors: with as many slots as the peak in use, no install is refused and the hit
    rate is the unlimited one; with fewer than one path needs, that path is never installed."""
    import pytest
    from jit.paths import program_object
    from tools.extractors import MAX_SLOTS, measure
    if not program_object("icmp_echo").exists():
        pytest.skip("programs not built (make programs)")
    (row,) = measure(300, slots=(), programs=("icmp_echo",), workload_names=("zipf",))
    peak, per_path = row["peak_in_use"], row["max_per_path"]
    assert 1 <= per_path <= peak <= row["distinct_fields"]
    # repeated fields: a path with two atoms on one field counts, and only then
    assert row["max_atoms_on_one_field"] >= 1
    assert (row["paths_with_repeated_field"] > 0) == (row["max_atoms_on_one_field"] > 1)
    assert row["paths_with_repeated_field"] <= row["installs"]
    (again,) = measure(300, slots=(peak, per_path - 1), programs=("icmp_echo",),
                       workload_names=("zipf",))
    assert again["slots_full"][peak] == 0
    assert again["hit_rate"][peak] == again["hit_rate"][MAX_SLOTS] > 0
    assert again["hit_rate"][per_path - 1] < again["hit_rate"][MAX_SLOTS]
