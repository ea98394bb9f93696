"""The NIC model's condition matcher against the ABI's own definition (issue 12, item 10): the
compiled per-entry condition (`compile_condition`), the compiled all-entries lookup
(`compile_lookup`) and `NicModel.lookup` must give what `Atom.holds` gives, over every operator,
width, byte order, sign, mask and length atom; not a subclass of the model compared with itself."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jit.ebpf import isa
from jit.nic.encoding import Atom, AtomKind, AtomOp
from jit.nic.model import NicConfig, NicModel, compile_condition, compile_lookup

HDR = 64
RET = isa.encode([isa.mov64_imm(0, 2), isa.exit_insn()])


@st.composite
def atoms(draw):
    kind = draw(st.sampled_from(list(AtomKind)))
    width = draw(st.sampled_from([1, 2, 4]))
    offset = draw(st.integers(0, HDR - width)) if kind == AtomKind.PKT else 0
    full = (1 << (8 * width)) - 1 if kind == AtomKind.PKT else 0xFFFF_FFFF
    mask = draw(st.sampled_from([0xFFFF_FFFF, full, full >> 1, 0x80, 0x8000, 0x8000_0000]) |
                st.integers(0, 0xFFFF_FFFF))
    # constants around the sign boundaries of every width, and arbitrary ones
    const = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF,
                                  0x8000_0000, 0xFFFF_FF80, 0xFFFF_8000, 0xFFFF_FFFF]) |
                 st.integers(0, 0xFFFF_FFFF))
    return Atom(kind, draw(st.sampled_from(list(AtomOp))), offset, width, draw(st.booleans()),
                mask, const)


# frames with the sign bit of each byte often set, lengths inside and past the window
frames = st.binary(min_size=0, max_size=HDR + 16) | st.lists(
    st.sampled_from([0x00, 0x7F, 0x80, 0xFF]), max_size=HDR + 16).map(bytes)


def window(frame: bytes) -> bytes:
    return frame[:HDR] + bytes(HDR + 8)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(atoms(), frames)
def test_one_atom_matches_atom_holds(atom, frame):
    assert compile_condition([atom])(window(frame), len(frame)) == atom.holds(frame, HDR), str(atom)
    assert (compile_lookup([[atom]])(window(frame), len(frame)) == 0) == atom.holds(frame, HDR)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.none(), st.lists(atoms(), max_size=4)), min_size=1, max_size=8),
       st.lists(frames, min_size=1, max_size=6))
def test_lookup_is_the_first_entry_whose_atoms_all_hold(conditions, frame_list):
    look = compile_lookup(conditions)
    for frame in frame_list:
        want = next((i for i, c in enumerate(conditions)
                     if c is not None and all(a.holds(frame, HDR) for a in c)), None)
        assert look(window(frame), len(frame)) == want


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(atoms(), max_size=3), min_size=1, max_size=4), st.lists(frames, max_size=8))
def test_model_lookup_both_ways_matches_atom_holds(conditions, frame_list):
    nic = NicModel(NicConfig(n_entries=4, hdr_bytes=HDR))
    for atoms_ in conditions:
        nic.install(atoms_, RET)
    installed = [list(e.atoms) if e is not None else None for e in nic.entries]
    for compiled in (False, True):
        nic.lookup_compile_after = 0 if compiled else 1 << 30
        nic._entries_changed()
        for frame in frame_list:
            want = next((i for i, c in enumerate(installed)
                         if c is not None and all(a.holds(frame, HDR) for a in c)), None)
            assert nic.lookup(frame) == want
