"""NIC map memory, the golden model of `rtl/jitnic_maps.v`: descriptors, placement, layout, the
hash table and its hash function, and the operations of both ports, defined once.

Memory: `MAP_MEM_BYTES` (jit.nic.encoding) of 64-bit little-endian words; every address below is
a word address unless it says bytes. Each map has a descriptor (type, key and value size,
max_entries, flags, base word, hash buckets) installed by map id.

Layout of one map at its base word:
* array kinds (array, percpu_array, global data, devmap, prog_array): element i at
  `base + i * stride`, `stride = hdr + slots * ew` where `ew = ceil(value_size / 8)`, `slots` is 2
  for per-CPU maps (slot 0 the host's, slot 1 the NIC's) and 1 otherwise, and `hdr` is one header
  word (bit 0: present) for devmap and prog_array, whose elements can be absent, 0 otherwise.
* hash kinds (hash, percpu_hash): an index of `nb = 2**log2_buckets >= 2 * max_entries` buckets of
  `1 + kw` words (`kw = ceil(key_size / 8)`), then a pool of max_entries value elements of
  `slots * ew` words. Bucket word 0: bit 63 valid, bits 62..32 the key's hash [30:0], bits 31..0
  the element's pool index; words 1..kw the key, zero-padded. Values never move while their
  element lives (as in the kernel's preallocated hash maps), so a value address stays valid.

Hash table: open addressing with linear probing from bucket `hash & (nb - 1)`, where `hash` is
CRC-32C (Castagnoli, reflected, init and final xor 0xFFFFFFFF) of the key zero-padded to `kw * 8`
bytes. Deletion shifts the following entries of the run back (Knuth's algorithm R), so no
tombstones exist and every run ends at an empty bucket. Capacity: a map holds at most max_entries
elements and `nb >= 2 * max_entries`, so at least half the buckets are empty: an insert of a new key
while count < max_entries always finds an empty bucket (the kernel's rule: -E2BIG only when
max_entries elements exist), and every probe sequence ends within `count + 1 <= max_entries + 1`
buckets (a run holds at most every element). Free pool elements: never-used ones are taken in
order (`fresh`), freed ones go on a LIFO list linked through word 0 of the freed element.

LPM tries (lpm_trie) are a hash table of their entries plus a prefix-length index: an entry
(key = u32 prefixlen p, then data bytes, kept as given like the kernel's node data) lives in the
hash table under its identity, the key with the data past p bits zeroed (`lpm_canon`): that is what
is hashed and compared (a stored key is compared under the same mask, so the bits past its prefix
do not matter). After the hash index and the value pool come `bmw = ceil((P + 1) / 64)` bitmap
words (bit p: some entry has prefix length p; P = 8 * (key_size - 4) the longest prefix) and P + 1
counter words (entries per prefix length; the bit is set while its counter is nonzero). A lookup
of key (p, data) probes the lengths q <= min(p, P) whose bit is set, longest first, for the
identity (q, data masked to q); the first hit is the longest matching prefix (the kernel's answer,
jit/ebpf/maps/lpm.py). An update of an existing identity rewrites the stored key (the kernel
replaces the node); a new entry when max_entries exist gives ENOSPC (lpm_trie.c's errno); an update
with p > P gives EINVAL, a delete with p > P ENOENT (as jit/ebpf/maps/lpm.py). The NIC holds tries
with at most MAP_LPM_MAX_DATA_BYTES of key data; the executor only looks LPM tries up (programs'
updates and deletes of them stay on the host: nic_helpers.RTL_WRITE_MAP_TYPES).

Iteration (get_next_key) is the NIC's own order: arrays by index (the kernel's order), hash maps by
bucket; the key after a key that is absent is the first key (as the kernel does).

Commands (control bus and model alike) take the staged key and value; "user" mode (MODE_ALL) is
bpf(2)'s view: lookup fills every slot, update writes every slot from staging and may fill
devmap/prog_array; "helper" mode updates one CPU's slot with a helper's semantics (EPERM on
read-only arrays, EOPNOTSUPP on devmap/prog_array), matching jit/ebpf/maps/.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from jit import JitnicError
from jit.nic import encoding as enc

WORD_BYTES = 8
SLOTS_PERCPU = 2
NIC_SLOT = 1          # the NIC's CPU in per-CPU maps (slot 0 is the host's)
NIL = 0xFFFF_FFFF     # end of a free list

# errno values the map commands return (positive in REG_MAP_ERRNO; the kernel's numbers)
EPERM, ENOENT, E2BIG, EBADF, EEXIST, EINVAL, ENOSPC, EOPNOTSUPP = 1, 2, 7, 9, 17, 22, 28, 95

CRC32C_POLY = 0x82F6_3B78   # reflected Castagnoli polynomial


class MapType(IntEnum):
    ARRAY = 0          # also the global-data maps (.data/.bss/.rodata: one element)
    PERCPU_ARRAY = 1
    HASH = 2
    PERCPU_HASH = 3
    DEVMAP = 4         # values are ifindexes, for bpf_redirect_map
    PROG_ARRAY = 5     # values are NIC program ids; read-only for traces
    LPM_TRIE = 6       # longest-prefix match: a hash table of entries + a prefix-length index


TYPE_BY_NAME = {"array": MapType.ARRAY, "percpu_array": MapType.PERCPU_ARRAY,
                "hash": MapType.HASH, "percpu_hash": MapType.PERCPU_HASH,
                "devmap": MapType.DEVMAP, "prog_array": MapType.PROG_ARRAY,
                "lpm_trie": MapType.LPM_TRIE}
HOST_ONLY_REASON = {
    "lru_hash": "LRU eviction order is the kernel's own (per-CPU free lists); the NIC does not "
                "reproduce it bit-exactly",
    "lru_percpu_hash": "LRU eviction order is the kernel's own; the NIC does not reproduce it",
}


class MapCmd(IntEnum):
    """REG_MAP_CMD[3:0]."""
    INSTALL = 1      # descriptor staging -> map id; clears the map's memory
    LOOKUP = 2       # staged key -> value staging (every slot)
    UPDATE = 3       # staged key, value staging, flags, mode
    DELETE = 4
    NEXT_KEY = 5     # staged key -> the next key, written back into the key staging
    FIRST_KEY = 6    # (no key) -> the first key, into the key staging


# REG_MAP_CMD fields (lsb, width)
CMD_OP = (0, 4)
CMD_FLAGS = (4, 2)      # update flags: BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2 (3: -EINVAL)
CMD_SLOT = (6, 1)       # helper mode: the CPU whose slot an update writes
CMD_ALL = (7, 1)        # user mode (bpf(2) view): every slot from/to staging
CMD_MAP = (8, 8)        # map id
BPF_ANY, BPF_NOEXIST, BPF_EXIST = 0, 1, 2

# descriptor staging words (REG_MAP_DESC + 4w)
DESC0_TYPE = (0, 4)
DESC0_RDONLY = (4, 1)        # program-side updates refused (.rodata); arrays only
DESC0_LOG2_BUCKETS = (8, 5)  # hash kinds: buckets = 2**this
DESC0_KEY_SIZE = (16, 8)
DESC1_VALUE_SIZE = (0, 16)
# word 2: max_entries; word 3: base word

STATUS_BUSY = 1 << 0
STATUS_DONE = 1 << 1
STATUS_OVERRUN = 1 << 2

# bucket word 0
BUCKET_VALID = 1 << 63
BUCKET_HASH_LSB = 32
HASH_BITS = 31


class MapMemError(JitnicError):
    """A descriptor or operation the NIC's map memory refuses (reason in the message)."""


def _put(value: int, f: tuple[int, int]) -> int:
    lsb, width = f
    if not 0 <= value < (1 << width):
        raise MapMemError(f"value {value} does not fit in a {width}-bit field")
    return value << lsb


def _get(word: int, f: tuple[int, int]) -> int:
    return (word >> f[0]) & ((1 << f[1]) - 1)


def words_of(nbytes: int) -> int:
    return (nbytes + WORD_BYTES - 1) // WORD_BYTES


# ---- the hash function -------------------------------------------------------------------------
def crc32c_update(crc: int, data: bytes) -> int:
    """Reflected CRC-32C register update over `data` (no init or final xor)."""
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (CRC32C_POLY if crc & 1 else 0)
    return crc


def crc_step_terms() -> list[tuple[list[int], list[int]]]:
    """The 64-bit CRC step `crc' = crc32c_update(crc, data as 8 little-endian bytes)` as XOR
    terms: for each output bit j, (crc bits, data bits) whose XOR it is. The step is linear over
    GF(2) (no initial or final xor inside it), so the columns are the images of single bits."""
    def step(crc: int, data: int) -> int:
        return crc32c_update(crc, data.to_bytes(8, "little"))
    crc_cols = [step(1 << i, 0) for i in range(32)]
    data_cols = [step(0, 1 << i) for i in range(64)]
    return [([i for i in range(32) if crc_cols[i] >> j & 1],
             [i for i in range(64) if data_cols[i] >> j & 1]) for j in range(32)]


def crc_step_macro() -> str:
    """`define MAP_CRC_STEP(c, d): the CRC step above as one XOR per output bit (c and d must be
    plain signal names: the macro indexes them)."""
    bits = []
    for cs, ds in reversed(crc_step_terms()):           # bit 31 first in the concatenation
        bits.append("(" + "^".join([f"c[{i}]" for i in cs] + [f"d[{i}]" for i in ds]) + ")")
    return "`define MAP_CRC_STEP(c, d) {" + ", ".join(bits) + "}"


def key_hash(key: bytes, key_size: int) -> int:
    """THE hash of a hash map's key: CRC-32C of the key zero-padded to whole 64-bit words."""
    padded = key[:key_size].ljust(words_of(key_size) * WORD_BYTES, b"\0")
    return crc32c_update(0xFFFF_FFFF, padded) ^ 0xFFFF_FFFF


def lpm_data_mask(key_size: int, q: int) -> bytes:
    """The bytes of an LPM key (prefixlen field included) that a prefix of q bits keeps: the
    prefixlen field whole, then the first q data bits (big-endian bit order)."""
    out = bytearray(b"\xff" * 4)
    for i in range(key_size - 4):
        n = min(max(q - 8 * i, 0), 8)
        out.append((0xFF << (8 - n)) & 0xFF)
    return bytes(out)


def lpm_masked(key: bytes, key_size: int, q: int) -> bytes:
    """`key` (prefixlen field kept) with its data past q bits zeroed."""
    return bytes(a & b for a, b in zip(key[:key_size].ljust(key_size, b"\0"),
                                       lpm_data_mask(key_size, q)))


def lpm_canon(key: bytes, key_size: int, q: int) -> bytes:
    """The identity of the entry of prefix length q that `key`'s data would match: q as the
    prefixlen field, the data masked to q bits. What an LPM trie's hash table hashes and compares."""
    return q.to_bytes(4, "little") + lpm_masked(key, key_size, q)[4:]


def random_key(d: "MapDesc", rng) -> bytes:
    """A key a map of this descriptor accepts, drawn from `rng` (random.Random): random bytes
    (hash kinds), a prefixlen 0..P then random data (LPM), an index below max_entries (arrays)."""
    if d.is_lpm:
        return (rng.randint(0, d.max_prefixlen).to_bytes(4, "little")
                + bytes(rng.getrandbits(8) for _ in range(d.key_size - 4)))
    if d.is_hash:
        return bytes(rng.getrandbits(8) for _ in range(d.key_size))
    return rng.randrange(d.max_entries).to_bytes(4, "little")


# ---- descriptors -------------------------------------------------------------------------------
@dataclass(frozen=True)
class MapDesc:
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    base: int                 # word address
    log2_buckets: int = 0     # hash kinds only
    rdonly: bool = False

    @property
    def is_hash(self) -> bool:
        """Keyed through the hash table (hash kinds and LPM tries)."""
        return self.type in (MapType.HASH, MapType.PERCPU_HASH, MapType.LPM_TRIE)

    @property
    def is_lpm(self) -> bool:
        return self.type == MapType.LPM_TRIE

    @property
    def max_prefixlen(self) -> int:
        return 8 * (self.key_size - 4) if self.is_lpm else 0

    @property
    def lpm_bm(self) -> int:
        """LPM: word address of the prefix-length bitmap (the counters follow it)."""
        return self.pool + self.max_entries * self.slots * self.ew

    @property
    def lpm_bm_words(self) -> int:
        return (self.max_prefixlen + 1 + 63) // 64 if self.is_lpm else 0

    @property
    def lpm_cnt(self) -> int:
        """LPM: word address of the counter of prefix length 0."""
        return self.lpm_bm + self.lpm_bm_words

    @property
    def slots(self) -> int:
        return SLOTS_PERCPU if self.type in (MapType.PERCPU_ARRAY, MapType.PERCPU_HASH) else 1

    @property
    def ew(self) -> int:
        return words_of(self.value_size)

    @property
    def kw(self) -> int:
        return words_of(self.key_size)

    @property
    def hdr(self) -> int:
        return 1 if self.type in (MapType.DEVMAP, MapType.PROG_ARRAY) else 0

    @property
    def stride(self) -> int:
        return self.hdr + self.slots * self.ew

    @property
    def n_buckets(self) -> int:
        return 1 << self.log2_buckets

    @property
    def bucket_words(self) -> int:
        return 1 + self.kw

    @property
    def pool(self) -> int:
        return self.base + self.n_buckets * self.bucket_words

    def size_words(self) -> int:
        if self.is_hash:
            lpm = self.lpm_bm_words + self.max_prefixlen + 1 if self.is_lpm else 0
            return (self.n_buckets * self.bucket_words + self.max_entries * self.slots * self.ew
                    + lpm)
        return self.max_entries * self.stride

    def words(self) -> tuple[int, int, int, int]:
        """The four descriptor staging words."""
        w0 = (_put(int(self.type), DESC0_TYPE) | _put(int(self.rdonly), DESC0_RDONLY)
              | _put(self.log2_buckets, DESC0_LOG2_BUCKETS) | _put(self.key_size, DESC0_KEY_SIZE))
        return w0, _put(self.value_size, DESC1_VALUE_SIZE), self.max_entries, self.base

    @classmethod
    def from_words(cls, w0: int, w1: int, w2: int, w3: int) -> "MapDesc | None":
        t = _get(w0, DESC0_TYPE)
        if t not in MapType._value2member_map_:
            return None
        return cls(MapType(t), _get(w0, DESC0_KEY_SIZE), _get(w1, DESC1_VALUE_SIZE), w2, w3,
                   _get(w0, DESC0_LOG2_BUCKETS), bool(_get(w0, DESC0_RDONLY)))


def check_desc(d: MapDesc, mem_words: int, max_key: int = enc.MAP_MAX_KEY_BYTES,
               max_value: int = enc.MAP_MAX_VALUE_BYTES) -> str | None:
    """Why the NIC refuses this descriptor at INSTALL (-EINVAL), or None. The RTL checks the same."""
    if d.is_lpm and not 5 <= d.key_size <= 4 + enc.MAP_LPM_MAX_DATA_BYTES:
        return (f"an lpm_trie key of {d.key_size - 4} data bytes: the NIC's LPM holds "
                f"1..{enc.MAP_LPM_MAX_DATA_BYTES}")
    if d.is_hash:
        if not 1 <= d.key_size <= max_key:
            return f"key_size {d.key_size} outside 1..{max_key}"
        if d.n_buckets < 2 * d.max_entries:
            return f"{d.n_buckets} buckets < 2 x max_entries {d.max_entries}"
    elif d.key_size != 4:
        return f"an array-like map needs key_size 4, not {d.key_size}"
    if not 1 <= d.value_size <= max_value:
        return f"value_size {d.value_size} outside 1..{max_value}"
    if d.max_entries < 1:
        return "max_entries 0"
    if d.rdonly and d.type != MapType.ARRAY:
        return "only arrays can be read-only"
    if d.base + d.size_words() > mem_words:
        return (f"needs words {d.base}..{d.base + d.size_words()} of map memory, which has "
                f"{mem_words}")
    return None


def make_desc(type_name: str, key_size: int, value_size: int, max_entries: int, base: int = 0,
              rdonly: bool = False) -> MapDesc:
    """A descriptor for a map definition at `base`, with the hash table sized by the capacity rule."""
    t = TYPE_BY_NAME[type_name]
    log2 = 0
    if t in (MapType.HASH, MapType.PERCPU_HASH, MapType.LPM_TRIE):
        log2 = max(1, (2 * max_entries - 1).bit_length())
    return MapDesc(t, key_size, value_size, max_entries, base, log2, rdonly)


@dataclass(frozen=True)
class Placement:
    """Where a program's maps live: NIC descriptors by name (map id = order of `nic`), and the maps
    that stay on the host with the reason."""
    nic: dict[str, MapDesc]
    host: dict[str, str]
    used_words: int


def place(defs, mem_bytes: int = enc.MAP_MEM_BYTES, max_maps: int = enc.MAP_MAX_MAPS,
          max_key: int = enc.MAP_MAX_KEY_BYTES, max_value: int = enc.MAP_MAX_VALUE_BYTES
          ) -> Placement:
    """Place map definitions (objects with name, type_name, key_size, value_size, max_entries,
    frozen) into map memory in order, first fit; a map that cannot be placed keeps host-resident."""
    mem_words = mem_bytes // WORD_BYTES
    nic: dict[str, MapDesc] = {}
    host: dict[str, str] = {}
    top = 0
    for d in defs:
        name = d.name
        if d.type_name not in TYPE_BY_NAME:
            host[name] = HOST_ONLY_REASON.get(d.type_name,
                                              f"map type {d.type_name} is not NIC-resident")
            continue
        if len(nic) >= max_maps:
            host[name] = f"the NIC has {max_maps} map descriptors, all in use"
            continue
        desc = make_desc(d.type_name, d.key_size, d.value_size, d.max_entries, top,
                         bool(getattr(d, "frozen", False)))
        why = check_desc(desc, mem_words, max_key, max_value)
        if why is not None:
            left = (mem_words - top) * WORD_BYTES
            host[name] = (f"{why} ({left} of {mem_bytes} bytes of NIC map memory left)"
                          if "map memory" in why else why)
            continue
        nic[name] = desc
        top += desc.size_words()
    return Placement(nic, host, top)


# ---- the memory and its operations -------------------------------------------------------------
@dataclass
class HashState:
    count: int = 0
    fresh: int = 0          # pool elements never used are fresh..max_entries-1
    free_head: int = NIL    # freed elements, LIFO, linked through their word 0


@dataclass
class Result:
    errno: int = 0
    value: bytes = b""      # lookup: every slot, slot s at bytes s*ew*8 (whole words)
    key: bytes = b""        # next/first key: the key's words (zero-padded)


@dataclass
class MapMem:
    mem_bytes: int = enc.MAP_MEM_BYTES
    max_maps: int = enc.MAP_MAX_MAPS
    max_key: int = enc.MAP_MAX_KEY_BYTES
    max_value: int = enc.MAP_MAX_VALUE_BYTES
    descs: dict[int, MapDesc] = field(default_factory=dict)
    hstate: dict[int, HashState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.words = [0] * (self.mem_bytes // WORD_BYTES)

    # -- words --
    def rd(self, addr: int) -> int:
        return self.words[addr]

    def wr(self, addr: int, value: int) -> None:
        self.words[addr] = value & 0xFFFF_FFFF_FFFF_FFFF

    def read_bytes(self, addr: int, nwords: int) -> bytes:
        return b"".join(self.words[a].to_bytes(8, "little") for a in range(addr, addr + nwords))

    def write_bytes(self, addr: int, data: bytes) -> None:
        data = data.ljust(words_of(len(data)) * WORD_BYTES, b"\0")
        for i in range(0, len(data), WORD_BYTES):
            self.wr(addr + i // WORD_BYTES, int.from_bytes(data[i:i + 8], "little"))

    # -- control bus commands --
    def install(self, map_id: int, d: MapDesc | None) -> int:
        if map_id >= self.max_maps or d is None:
            return EINVAL
        if check_desc(d, len(self.words), self.max_key, self.max_value) is not None:
            return EINVAL
        self.descs[map_id] = d
        for a in range(d.base, d.base + d.size_words()):
            self.words[a] = 0
        if d.is_hash:
            self.hstate[map_id] = HashState()
        return 0

    def _desc(self, map_id: int) -> MapDesc | None:
        return self.descs.get(map_id)

    def lookup(self, map_id: int, key: bytes) -> Result:
        d = self._desc(map_id)
        if d is None:
            return Result(EBADF)
        elem = self._find(d, key)
        if elem is None:
            return Result(ENOENT)
        return Result(0, value=self.read_bytes(elem, d.slots * d.ew))

    def update(self, map_id: int, key: bytes, value: bytes, flags: int = BPF_ANY,
               slot: int | None = None) -> int:
        """`slot` None: user mode, `value` holds every slot (slot s at s*ew*8); else helper mode,
        `value` (one slot) goes to that CPU's slot."""
        d = self._desc(map_id)
        if d is None:
            return EBADF
        if flags > BPF_EXIST:
            return EINVAL
        helper = slot is not None
        if not d.is_hash:
            if helper and d.hdr:
                return EOPNOTSUPP
            i = self._index(key)
            if i >= d.max_entries:
                return E2BIG
            if flags == BPF_NOEXIST:
                return EEXIST
            if helper and d.rdonly:
                return EPERM
            elem = d.base + i * d.stride
            if d.hdr:
                self.wr(elem, 1)
            self._write_value(d, elem + d.hdr, value, slot, new=False)
            return 0
        st = self.hstate[map_id]
        ident = self._ident(d, key)
        if ident is None:
            return EINVAL               # an LPM prefixlen above the key's bits
        h = key_hash(ident, d.key_size)
        b, found = self._probe(d, ident, h)
        if found is not None and flags == BPF_NOEXIST:
            return EEXIST
        if found is None and flags == BPF_EXIST:
            return ENOENT
        if found is not None:
            if d.is_lpm:                # the kernel replaces the node: the key as given now
                self.write_bytes(d.base + b * d.bucket_words + 1, self._padded_key(d, key))
            self._write_value(d, self._value_addr(d, found), value, slot, new=False)
            return 0
        if st.count >= d.max_entries or b is None:
            return ENOSPC if d.is_lpm else E2BIG
        if st.fresh < d.max_entries:
            k = st.fresh
            st.fresh += 1
        else:
            k = st.free_head
            st.free_head = self.rd(self._value_addr(d, k)) & 0xFFFF_FFFF
        st.count += 1
        ba = d.base + b * d.bucket_words
        self.wr(ba, BUCKET_VALID | ((h & ((1 << HASH_BITS) - 1)) << BUCKET_HASH_LSB) | k)
        self.write_bytes(ba + 1, self._padded_key(d, key))
        self._write_value(d, self._value_addr(d, k), value, slot, new=True)
        if d.is_lpm:
            self._lpm_count(d, self._index(key), +1)
        return 0

    def delete(self, map_id: int, key: bytes, helper: bool = False) -> int:
        d = self._desc(map_id)
        if d is None:
            return EBADF
        if not d.is_hash:
            if not d.hdr:
                return EINVAL
            if helper:
                return EOPNOTSUPP
            i = self._index(key)
            if i >= d.max_entries:
                return EINVAL if d.type == MapType.DEVMAP else E2BIG
            elem = d.base + i * d.stride
            if d.type == MapType.PROG_ARRAY and not self.rd(elem) & 1:
                return ENOENT
            self.wr(elem, 0)
            return 0
        st = self.hstate[map_id]
        ident = self._ident(d, key)
        if ident is None:
            return ENOENT               # (jit/ebpf/maps/lpm.py: no such entry)
        b, found = self._probe(d, ident, key_hash(ident, d.key_size))
        if found is None:
            return ENOENT
        va = self._value_addr(d, found)
        self.wr(va, st.free_head)
        st.free_head = found
        st.count -= 1
        self._shift_back(d, b)
        if d.is_lpm:
            self._lpm_count(d, self._index(key), -1)
        return 0

    def next_key(self, map_id: int, key: bytes | None) -> Result:
        d = self._desc(map_id)
        if d is None:
            return Result(EBADF)
        if not d.is_hash:
            i = NIL if key is None else self._index(key)
            if i >= d.max_entries:
                return Result(0, key=(0).to_bytes(8, "little"))
            if i == d.max_entries - 1:
                return Result(ENOENT)
            return Result(0, key=(i + 1).to_bytes(8, "little"))
        start = 0
        ident = None if key is None else self._ident(d, key)
        if ident is not None:
            b, found = self._probe(d, ident, key_hash(ident, d.key_size))
            if found is not None:
                start = b + 1
        for b in range(start, d.n_buckets):
            ba = d.base + b * d.bucket_words
            if self.rd(ba) & BUCKET_VALID:
                return Result(0, key=self.read_bytes(ba + 1, d.kw))
        return Result(ENOENT)

    # -- executor port --
    def exec_lookup(self, map_id: int, key: bytes) -> int | None:
        """Byte address of the NIC's slot of the key's value, or None (not found)."""
        d = self._desc(map_id)
        if d is None or d.type == MapType.PROG_ARRAY:
            return None
        elem = self._find(d, key)
        if elem is None:
            return None
        return (elem + (NIC_SLOT if d.slots > 1 else 0) * d.ew) * WORD_BYTES

    def exec_room(self, map_id: int) -> int:
        """LOOKUP's response data: bit 0 set when an insert would find room (a hash map holds
        fewer than max_entries elements; always for the other types). map_update_elem on the RTL
        decides -E2BIG with it at the call."""
        d = self._desc(map_id)
        if d is None or not d.is_hash:
            return 1
        return int(self.hstate[map_id].count < d.max_entries)

    def exec_insert(self, map_id: int, key: bytes) -> int | None:
        """A buffered map_update_elem at commit (hash maps): find the key or insert it with every
        value slot zeroed; the byte address of the NIC's slot, which the executor then writes. None
        when the map is not a hash map or is full (the executor decided at the call, so only a
        caller's error gets None)."""
        d = self._desc(map_id)
        if d is None or not d.is_hash or d.is_lpm:
            return None
        if self._find(d, key) is None and self.update(
                map_id, key, bytes(d.slots * d.ew * WORD_BYTES), BPF_NOEXIST) != 0:
            return None
        return self.exec_lookup(map_id, key)

    def exec_delete(self, map_id: int, key: bytes) -> bool:
        """A buffered map_delete_elem at commit (hash maps): True if the key was there."""
        d = self._desc(map_id)
        return d is not None and d.is_hash and not d.is_lpm and self.delete(map_id, key) == 0

    def exec_desc(self, map_id: int) -> tuple[int, int] | None:
        """(base byte address, desc_word) of an installed map, or None."""
        d = self._desc(map_id)
        return None if d is None else (d.base * WORD_BYTES, desc_word(d))

    def exec_read(self, byte_addr: int) -> int | None:
        a = byte_addr // WORD_BYTES
        return self.rd(a) if a < len(self.words) else None

    def exec_write(self, byte_addr: int, data: int, be: int) -> bool:
        a = byte_addr // WORD_BYTES
        if a >= len(self.words):
            return False
        mask = sum(0xFF << (8 * i) for i in range(8) if be >> i & 1)
        self.wr(a, (self.rd(a) & ~mask) | (data & mask))
        return True

    def exec_add(self, byte_addr: int, data: int, wide: bool) -> bool:
        """Atomic add: 64-bit at the word, or 32-bit in the word's lane chosen by address bit 2."""
        a = byte_addr // WORD_BYTES
        if a >= len(self.words):
            return False
        old = self.rd(a)
        if wide:
            self.wr(a, old + data)
        else:
            sh = 32 if byte_addr & 4 else 0
            lane = ((old >> sh) + data) & 0xFFFF_FFFF
            self.wr(a, (old & ~(0xFFFF_FFFF << sh)) | (lane << sh))
        return True

    # -- user-side views --
    def count(self, map_id: int) -> int:
        return self.hstate[map_id].count

    def keys(self, map_id: int) -> list[bytes]:
        """Every key in iteration order (FIRST_KEY then NEXT_KEY until ENOENT)."""
        out, r = [], self.next_key(map_id, None)
        while r.errno == 0:
            out.append(r.key)
            r = self.next_key(map_id, r.key)
        return out

    # -- internals --
    @staticmethod
    def _index(key: bytes) -> int:
        return int.from_bytes(key[:4].ljust(4, b"\0"), "little")

    @staticmethod
    def _padded_key(d: MapDesc, key: bytes) -> bytes:
        return key[:d.key_size].ljust(d.kw * WORD_BYTES, b"\0")

    def _value_addr(self, d: MapDesc, k: int) -> int:
        return d.pool + k * d.slots * d.ew

    def _find(self, d: MapDesc, key: bytes) -> int | None:
        """Word address of a present element's value slots, or None."""
        if not d.is_hash:
            i = self._index(key)
            if i >= d.max_entries:
                return None
            elem = d.base + i * d.stride
            if d.hdr and not self.rd(elem) & 1:
                return None
            return elem + d.hdr
        if d.is_lpm:
            found = self._lpm_find(d, key)
        else:
            _, found = self._probe(d, key, key_hash(key, d.key_size))
        return None if found is None else self._value_addr(d, found)

    def _ident(self, d: MapDesc, key: bytes) -> bytes | None:
        """What the hash table keys an entry by: the key (hash kinds), the identity lpm_canon at
        the key's own prefix length (LPM; None when the prefixlen is above the key's bits)."""
        if not d.is_lpm:
            return key
        p = self._index(key)
        return None if p > d.max_prefixlen else lpm_canon(key, d.key_size, p)

    def lpm_lengths(self, d: MapDesc) -> int:
        """The LPM bitmap: bit q set while some entry has prefix length q."""
        return int.from_bytes(self.read_bytes(d.lpm_bm, d.lpm_bm_words), "little")

    def _lpm_find(self, d: MapDesc, key: bytes) -> int | None:
        """Pool index of the entry with the longest prefix matching `key`, or None: hash probes for
        the lengths in use, from min(prefixlen, P) down; the first hit wins."""
        bm = self.lpm_lengths(d)
        for q in range(min(self._index(key), d.max_prefixlen), -1, -1):
            if bm >> q & 1:
                ident = lpm_canon(key, d.key_size, q)
                _, found = self._probe(d, ident, key_hash(ident, d.key_size))
                if found is not None:
                    return found
        return None

    def _lpm_count(self, d: MapDesc, p: int, delta: int) -> None:
        """An entry of prefix length p came (+1) or went (-1): its counter, and its bitmap bit."""
        n = (self.rd(d.lpm_cnt + p) + delta) & 0xFFFF_FFFF_FFFF_FFFF
        self.wr(d.lpm_cnt + p, n)
        a, bit = d.lpm_bm + p // 64, 1 << (p % 64)
        self.wr(a, self.rd(a) | bit if n else self.rd(a) & ~bit)

    def _probe(self, d: MapDesc, key: bytes, h: int) -> tuple[int | None, int | None]:
        """(bucket, pool index) of the key, or (first empty bucket of its run, None). At most
        n_buckets probes: a corrupted table (executor writes over the index) cannot loop. LPM:
        `key` is an identity (lpm_canon) and stored keys are compared masked to its length."""
        want = self._padded_key(d, key)
        tag = h & ((1 << HASH_BITS) - 1)
        b = h & (d.n_buckets - 1)
        q = self._index(key) if d.is_lpm else 0
        for _ in range(d.n_buckets):
            ba = d.base + b * d.bucket_words
            w0 = self.rd(ba)
            if not w0 & BUCKET_VALID:
                return b, None
            if (w0 >> BUCKET_HASH_LSB) & ((1 << HASH_BITS) - 1) == tag:
                stored = self.read_bytes(ba + 1, d.kw)
                if d.is_lpm:
                    stored = self._padded_key(d, lpm_masked(stored, d.key_size, q))
                if stored == want:
                    return b, w0 & 0xFFFF_FFFF
            b = (b + 1) & (d.n_buckets - 1)
        return None, None

    def _shift_back(self, d: MapDesc, hole: int) -> None:
        """Knuth's algorithm R: close the hole at `hole` by moving later entries of the run."""
        mask = d.n_buckets - 1
        j = hole
        for _ in range(d.n_buckets):
            j = (j + 1) & mask
            ja = d.base + j * d.bucket_words
            w0 = self.rd(ja)
            if not w0 & BUCKET_VALID:
                break
            home = (w0 >> BUCKET_HASH_LSB) & mask
            # the entry at j may fill the hole unless its home lies cyclically in (hole, j]
            if ((j - home) & mask) >= ((j - hole) & mask):
                ha = d.base + hole * d.bucket_words
                for w in range(d.bucket_words):
                    self.wr(ha + w, self.rd(ja + w))
                hole = j
        self.wr(d.base + hole * d.bucket_words, 0)

    def _write_value(self, d: MapDesc, va: int, value: bytes, slot: int | None, new: bool) -> None:
        n = d.ew * WORD_BYTES
        if slot is None:
            for s in range(d.slots):
                self.write_bytes(va + s * d.ew, value[s * n:(s + 1) * n].ljust(n, b"\0"))
            return
        s = slot if d.slots > 1 else 0
        for o in range(d.slots):
            if o == s:
                self.write_bytes(va + o * d.ew, value[:n].ljust(n, b"\0"))
            elif new:
                self.write_bytes(va + o * d.ew, bytes(n))


# ---- Verilog header -----------------------------------------------------------------------------
def verilog_defines() -> list[str]:
    """`define lines for rtl/jitnic_maps.v (hooked into jit.nic.encoding.verilog_header)."""
    lines = [f"`define JITNIC_MAP_MEM_BYTES {enc.MAP_MEM_BYTES}",
             f"`define JITNIC_MAP_MAX_MAPS {enc.MAP_MAX_MAPS}",
             f"`define JITNIC_MAP_MAX_KEY_BYTES {enc.MAP_MAX_KEY_BYTES}",
             f"`define JITNIC_MAP_MAX_VALUE_BYTES {enc.MAP_MAX_VALUE_BYTES}",
             f"`define JITNIC_MAP_LPM_MAX_DATA_BYTES {enc.MAP_LPM_MAX_DATA_BYTES}",
             f"`define MAP_REGION_BYTES {enc.MAP_REGION_BYTES}",
             f"`define MAP_SLOTS_PERCPU {SLOTS_PERCPU}",
             f"`define MAP_NIC_SLOT {NIC_SLOT}",
             f"`define MAP_NIL 32'h{NIL:08x}",
             f"`define MAP_CRC32C_POLY 32'h{CRC32C_POLY:08x}",
             "// one CRC-32C step over a 64-bit key word (crc_step_terms: XOR terms per output bit)",
             crc_step_macro(),
             f"`define MAP_HASH_BITS {HASH_BITS}",
             f"`define MAP_BUCKET_VALID_BIT 63",
             f"`define MAP_BUCKET_HASH_LSB {BUCKET_HASH_LSB}"]
    lines += [f"`define MAP_TYPE_{m.name} 4'd{int(m)}" for m in MapType]
    lines += [f"`define MAP_CMD_{m.name} 4'd{int(m)}" for m in MapCmd]
    for name, (lsb, width) in (("CMD_OP", CMD_OP), ("CMD_FLAGS", CMD_FLAGS),
                               ("CMD_SLOT", CMD_SLOT), ("CMD_ALL", CMD_ALL), ("CMD_MAP", CMD_MAP),
                               ("DESC0_TYPE", DESC0_TYPE), ("DESC0_RDONLY", DESC0_RDONLY),
                               ("DESC0_LOG2_BUCKETS", DESC0_LOG2_BUCKETS),
                               ("DESC0_KEY_SIZE", DESC0_KEY_SIZE),
                               ("DESC1_VALUE_SIZE", DESC1_VALUE_SIZE)):
        lines += [f"`define MAP_{name}_LSB {lsb}", f"`define MAP_{name}_W {width}"]
    lines += [f"`define MAP_STATUS_BUSY_BIT {STATUS_BUSY.bit_length() - 1}",
              f"`define MAP_STATUS_DONE_BIT {STATUS_DONE.bit_length() - 1}",
              f"`define MAP_STATUS_OVERRUN_BIT {STATUS_OVERRUN.bit_length() - 1}"]
    lines += [f"`define MAP_ERRNO_{n} 8'd{v}" for n, v in
              (("EPERM", EPERM), ("ENOENT", ENOENT), ("E2BIG", E2BIG), ("EBADF", EBADF),
               ("EEXIST", EEXIST), ("EINVAL", EINVAL), ("ENOSPC", ENOSPC),
               ("EOPNOTSUPP", EOPNOTSUPP))]
    lines += [f"`define MAP_EX_{m.name} 3'd{int(m)}" for m in ExOp]
    for name, (lsb, width) in (("SIZE", EXDESC_SIZE), ("VALUE_SIZE", EXDESC_VALUE_SIZE),
                               ("KEY_SIZE", EXDESC_KEY_SIZE), ("TYPE", EXDESC_TYPE),
                               ("RDONLY", EXDESC_RDONLY)):
        lines += [f"`define MAP_EXDESC_{name}_LSB {lsb}", f"`define MAP_EXDESC_{name}_W {width}"]
    return lines


class ExOp(IntEnum):
    """Executor port requests (rtl/jitnic_maps.v ex_req_op)."""
    LOOKUP = 0   # (map, key) -> found, byte address of the NIC's value slot
    READ = 1     # byte address -> the 64-bit word holding it
    WRITE = 2    # byte address, data, byte enables: a buffered write at commit
    ADD32 = 3    # atomic add into the 32-bit lane chosen by address bit 2, at commit
    ADD64 = 4    # atomic 64-bit add, at commit
    DESC = 5     # map -> installed?, byte address of the map's base, desc_word (the executor's
                 # bounds, key size, type and read-only flag; docs/exec.md "Map port")
    # map_update_elem / map_delete_elem at commit (docs/exec.md "Map updates and deletes")
    INSERT = 6   # (hash map, key) -> found or inserted (value slots zeroed), NIC slot's address
    DELETE = 7   # (hash map, key) -> deleted?


# the DESC response word (ex_resp_data): bit fields (lsb, width)
EXDESC_SIZE = (0, 32)       # bytes of the map's region of map memory (size_words * 8)
EXDESC_VALUE_SIZE = (32, 16)
EXDESC_KEY_SIZE = (48, 8)
EXDESC_TYPE = (56, 4)
EXDESC_RDONLY = (60, 1)


def desc_word(d: MapDesc) -> int:
    """The DESC response word of a descriptor (what the executor needs of it)."""
    return (_put(d.size_words() * WORD_BYTES, EXDESC_SIZE) | _put(d.value_size, EXDESC_VALUE_SIZE)
            | _put(d.key_size, EXDESC_KEY_SIZE) | _put(int(d.type), EXDESC_TYPE)
            | _put(int(d.rdonly), EXDESC_RDONLY))
