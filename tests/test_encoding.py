"""The ABI module: atom/trace word round trips, LFSR, and the generated Verilog header."""
from hypothesis import given, strategies as st

from jit.nic import encoding as enc
from jit.nic.encoding import Atom, AtomKind, AtomOp
from jit.paths import PROJECT_ROOT


def test_committed_header_matches_generator():
    committed = (PROJECT_ROOT / "rtl" / "jitnic_abi.vh").read_text()
    assert committed == enc.verilog_header(), "rtl/jitnic_abi.vh is stale: run `make header`"


atoms = st.builds(Atom, kind=st.sampled_from(list(AtomKind)), op=st.sampled_from(list(AtomOp)),
                  offset=st.integers(0, 4095), width=st.sampled_from([1, 2, 4]),
                  big_endian=st.booleans(), mask=st.integers(0, 2**32 - 1),
                  const=st.integers(0, 2**32 - 1))


@given(atoms)
def test_atom_words_round_trip(atom):
    assert Atom.from_words(*atom.words()) == atom


def test_atom_field_reads_network_and_host_order():
    pkt = bytes(12) + b"\x86\xdd" + bytes(10)
    assert Atom(AtomKind.PKT, AtomOp.EQ, 12, 2, True, 0xFFFF, 0x86DD).holds(pkt)
    assert Atom(AtomKind.PKT, AtomOp.EQ, 12, 2, False, 0xFFFF, 0xDD86).holds(pkt)
    assert not Atom(AtomKind.PKT, AtomOp.EQ, 12, 2, True, 0xFFFF, 0x0800).holds(pkt)
    # bytes past the frame read as zero
    assert Atom(AtomKind.PKT, AtomOp.EQ, 22, 4, True, 0xFFFF_FFFF, 0).holds(pkt)
    assert Atom(AtomKind.LEN, AtomOp.GE, const=14).holds(pkt)
    assert not Atom(AtomKind.LEN, AtomOp.LT, const=14).holds(pkt)


def test_signed_atoms_sign_extend_the_field_width():
    pkt = b"\xff"
    assert Atom(AtomKind.PKT, AtomOp.SLT, 0, 1, True, 0xFF, 0).holds(pkt)      # -1 < 0
    assert not Atom(AtomKind.PKT, AtomOp.LT, 0, 1, True, 0xFF, 0).holds(pkt)   # 255 < 0


def test_lfsr_never_locks_and_has_long_period():
    state = enc.lfsr_seed(0)
    assert state == enc.LFSR_DEFAULT_SEED
    seen = set()
    for _ in range(10000):
        state = enc.lfsr_step(state)
        assert state != 0
        seen.add(state)
    assert len(seen) == 10000


def test_trace_words_split_slots_little_endian():
    code = bytes([0xb7, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,  # r0 = 2
                  0x95, 0, 0, 0, 0, 0, 0, 0])                        # exit
    assert enc.trace_words(code) == [(0xb7, 2), (0x95, 0)]
