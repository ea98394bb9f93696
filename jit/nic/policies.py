"""Replacement policies of the trace cache: the executable definition the RTL modules
(`rtl/jitnic_policy_*.v`) are checked against, decision for decision (see docs/abi.md).

Every policy sees the same events: `touch(i)` on a hit, `victim(valid)` when a commit needs an
entry, `fill(i, evicting)` after the commit wrote entry i, and `invalidate_all()`. The shared rule
"lowest-index invalid entry first" lives in `choose_victim`, not in the policies.
"""
from __future__ import annotations

from jit.nic import encoding as enc
from jit import JitnicError


class Policy:
    name = "base"

    def __init__(self, n_entries: int):
        if n_entries < 1 or n_entries & (n_entries - 1):
            raise JitnicError(f"N_ENTRIES must be a power of two, got {n_entries}")
        self.n = n_entries

    def touch(self, index: int) -> None:
        """A packet hit entry `index`."""

    def fill(self, index: int, evicting: bool) -> None:
        """Entry `index` was installed; `evicting` when no invalid entry existed."""
        self.touch(index)

    def pick(self) -> int:
        """Victim among all-valid entries (no state change)."""
        raise NotImplementedError

    def invalidate_all(self) -> None:
        """Every entry became invalid."""

    def reseed(self, seed: int) -> None:
        """CTRL.RESEED with POLICY_SEED = seed (only RANDOM cares)."""


def choose_victim(policy: Policy, valid: list[bool]) -> tuple[int, bool]:
    """(entry to install into, whether a valid entry is evicted)."""
    for i, v in enumerate(valid):
        if not v:
            return i, False
    return policy.pick(), True


class LRU(Policy):
    name = "lru"

    def __init__(self, n_entries: int):
        super().__init__(n_entries)
        # order[0] is least recently used. Initial order = index order (RTL: age[i] = N-1-i).
        self.order = list(range(n_entries))

    def touch(self, index: int) -> None:
        self.order.remove(index)
        self.order.append(index)

    def pick(self) -> int:
        return self.order[0]


class FIFO(Policy):
    name = "fifo"

    def __init__(self, n_entries: int):
        super().__init__(n_entries)
        self.ptr = 0

    def touch(self, index: int) -> None:
        pass

    def fill(self, index: int, evicting: bool) -> None:
        if evicting:
            self.ptr = (self.ptr + 1) % self.n

    def pick(self) -> int:
        return self.ptr

    def invalidate_all(self) -> None:
        self.ptr = 0


class Random(Policy):
    name = "random"

    def __init__(self, n_entries: int, seed: int = 0):
        super().__init__(n_entries)
        self.state = enc.lfsr_seed(seed)

    def touch(self, index: int) -> None:
        pass

    def fill(self, index: int, evicting: bool) -> None:
        if evicting:
            self.state = enc.lfsr_step(self.state)

    def pick(self) -> int:
        return self.state & (self.n - 1)

    def reseed(self, seed: int) -> None:
        self.state = enc.lfsr_seed(seed)


class TreePLRU(Policy):
    name = "plru"

    def __init__(self, n_entries: int):
        super().__init__(n_entries)
        self.bits = [0] * max(self.n, 1)   # node k at bits[k], k = 1 .. n-1

    def touch(self, index: int) -> None:
        node = 1
        half = self.n // 2
        lo = 0
        while half:
            right = index >= lo + half
            self.bits[node] = 0 if right else 1   # point away from the touched side
            node = 2 * node + int(right)
            lo += half if right else 0
            half //= 2

    def pick(self) -> int:
        node, lo, half = 1, 0, self.n // 2
        while half:
            right = self.bits[node] == 1
            node = 2 * node + int(right)
            lo += half if right else 0
            half //= 2
        return lo


POLICIES = {cls.name: cls for cls in (LRU, FIFO, Random, TreePLRU)}
POLICY_CODES = {"lru": enc.Policy.LRU, "fifo": enc.Policy.FIFO, "random": enc.Policy.RANDOM,
                "plru": enc.Policy.PLRU}


def make_policy(name: str, n_entries: int, seed: int = 0) -> Policy:
    if name not in POLICIES:
        raise JitnicError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
    if name == "random":
        return Random(n_entries, seed)
    return POLICIES[name](n_entries)
