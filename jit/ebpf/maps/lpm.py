"""BPF_MAP_TYPE_LPM_TRIE (kernel/bpf/lpm_trie.c).

* Key: `struct bpf_lpm_trie_key`: u32 prefixlen (host order) then key_size - 4 data bytes (network
  order); max prefixlen = 8 * (key_size - 4). The map must be created with BPF_F_NO_PREALLOC.
* lookup: the entry with the longest prefixlen <= the key's prefixlen whose first prefixlen bits
  equal the key's; NULL if none.
* update: prefixlen > max -> -EINVAL; flags other than ANY/NOEXIST/EXIST -> -EINVAL; an entry
  with the same prefixlen and prefix bits is the same entry (NOEXIST -> -EEXIST, else its value is
  replaced); EXIST on a missing entry -> -ENOENT; a new entry when max_entries exist -> -ENOSPC
  (not -E2BIG: that is what lpm_trie.c returns).
* delete: exact (prefixlen, prefix) match, else -ENOENT.
* Keys are stored as given (bits past the prefix included, like the kernel's node data); dump
  order is sorted by key bytes.
"""
from __future__ import annotations

from jit.ebpf.maps.base import (BPF_F_NO_PREALLOC, BPF_NOEXIST, EINVAL, ENOSPC, MapError,
                                check_update_flags)
from jit.ebpf.maps.hash import HashMap


def _prefix_bits(data: bytes, plen: int) -> int:
    """The first `plen` bits of `data` (big-endian bit order) as an integer."""
    n = int.from_bytes(data, "big")
    return n >> (8 * len(data) - plen) if plen else 0


class LpmTrieMap(HashMap):
    full_errno = ENOSPC

    def __init__(self, d, base: int, n_cpus: int):
        if d.key_size < 5 or d.key_size > 4 + 256:
            raise MapError(f"map {d.name!r}: an lpm_trie key is a u32 prefixlen plus 1..256 data "
                           f"bytes (key_size {d.key_size})")
        if not d.flags & BPF_F_NO_PREALLOC:
            raise MapError(f"map {d.name!r}: an lpm_trie needs map_flags BPF_F_NO_PREALLOC")
        super().__init__(d, base, n_cpus)
        self.max_prefixlen = 8 * (d.key_size - 4)
        self.by_prefix: dict[tuple[int, int], bytes] = {}   # (plen, prefix bits) -> stored key

    def _ident(self, key: bytes) -> tuple[int, int] | None:
        plen = int.from_bytes(key[:4], "little")
        if plen > self.max_prefixlen:
            return None
        return plen, _prefix_bits(key[4:], plen)

    def canonical(self, key: bytes) -> bytes:
        ident = self._ident(key)
        return self.by_prefix.get(ident, key) if ident is not None else key

    def lookup(self, key: bytes, cpu: int) -> int:
        plen = min(int.from_bytes(key[:4], "little"), self.max_prefixlen)
        data = key[4:]
        for p in sorted({ident[0] for ident in self.by_prefix if ident[0] <= plen}, reverse=True):
            stored = self.by_prefix.get((p, _prefix_bits(data, p)))
            if stored is not None:
                return self.addr(self.index[stored], cpu)
        return 0

    def update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        ident = self._ident(key)
        if ident is None:
            return -EINVAL
        err = check_update_flags(flags)
        if err:
            return err
        old = self.by_prefix.get(ident)
        if old is not None and old != key and flags != BPF_NOEXIST:   # same entry, new bytes: rekey
            self.index[key] = self.index.pop(old)
            self.by_prefix[ident] = key
        rc = super().update(key, value, flags, cpu)
        if rc == 0:
            self.by_prefix[ident] = key
        return rc

    def delete(self, key: bytes) -> int:
        ident = self._ident(key)
        rc = super().delete(key)
        if rc == 0:
            del self.by_prefix[ident]
        return rc

    def load(self, e) -> None:
        ident = self._ident(e.key)
        if ident is None:
            raise MapError(f"map {self.name!r}: key {e.key.hex()} has a prefixlen above "
                           f"{self.max_prefixlen}")
        old = self.by_prefix.get(ident)
        if old is not None and old != e.key:
            self.index[e.key] = self.index.pop(old)
        self.by_prefix[ident] = e.key       # (before: HashMap.load finds the entry by canonical)
        super().load(e)
