"""BPF_MAP_TYPE_LRU_HASH and BPF_MAP_TYPE_LRU_PERCPU_HASH (kernel/bpf/hashtab.c, bpf_lru_list.c).

Same interface and flags as the hash maps (jit/ebpf/maps/hash.py), but an insert into a full map
evicts instead of failing with -E2BIG.

What is modelled: an exact LRU. Every lookup and update of a key makes it the most recently used;
an insert into a map holding max_entries elements evicts the least recently used one.

What the kernel does: an approximation. Lookups only set a reference bit; eviction shrinks an
inactive list in batches, rotating referenced nodes back to the active list; free nodes sit on
per-CPU lists (common LRU) or per-CPU LRU lists (BPF_F_NO_COMMON_LRU), so it can evict before the
map holds max_entries elements and need not evict the single least recently used key.

What a differential test may compare: while no more than max_entries distinct keys have been
inserted (no eviction on either side), contents are identical, as for a plain hash map. Once
eviction happens, only that the map holds at most max_entries elements and that the key just
inserted is present.
"""
from __future__ import annotations

from jit.ebpf.maps.hash import HashMap


class LruHashMap(HashMap):
    def touch(self, key: bytes) -> None:
        slot = self.index.pop(key)
        self.index[key] = slot                 # dicts keep insertion order: last = most recent

    def make_room(self) -> bool:
        victim = next(iter(self.index))        # least recently used
        self.free.append(self.index.pop(victim))
        return True


class LruPercpuHashMap(LruHashMap):
    percpu = True
