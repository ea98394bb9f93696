"""Replacement-policy reference models (jit/nic/policies.py): the RTL is checked against these, so
their decisions are pinned here against independent reasoning."""
import random

import pytest

from jit.nic import encoding as enc
from jit import JitnicError
from jit.nic.policies import FIFO, LRU, Random, TreePLRU, choose_victim, make_policy


def fill_all(policy, n):
    valid = [False] * n
    for _ in range(n):
        index, evicting = choose_victim(policy, valid)
        assert not evicting
        valid[index] = True
        policy.fill(index, evicting)
    return valid


def test_invalid_entries_are_filled_lowest_first():
    p = LRU(4)
    assert choose_victim(p, [True, False, True, False]) == (1, False)
    assert choose_victim(p, [True] * 4) == (p.pick(), True)


def test_lru_evicts_least_recently_used():
    p = LRU(4)
    fill_all(p, 4)                 # order of use: 0 1 2 3
    p.touch(0)
    p.touch(2)                     # now 1 is least recent, then 3
    assert p.pick() == 1
    p.fill(1, True)
    assert p.pick() == 3


def test_fifo_ignores_hits_and_rotates():
    p = FIFO(4)
    fill_all(p, 4)
    p.touch(0)
    assert p.pick() == 0
    for expected in (0, 1, 2, 3, 0):
        assert p.pick() == expected
        p.fill(expected, True)
    p.invalidate_all()
    assert p.pick() == 0


def test_random_follows_the_lfsr_and_reseeds():
    p = Random(8, seed=0x1234)
    state = 0x1234
    for _ in range(20):
        assert p.pick() == state & 7
        p.fill(p.pick(), True)
        state = enc.lfsr_step(state)
    p.reseed(0)
    assert p.state == enc.LFSR_DEFAULT_SEED


def test_plru_points_away_from_recent_accesses():
    p = TreePLRU(4)
    assert p.pick() == 0           # all bits 0: leftmost
    p.touch(0)                     # root -> right, node 2 -> entry 1
    assert p.pick() == 2
    p.touch(2)                     # root -> left; left subtree still points at 1
    assert p.pick() == 1
    p.touch(1)                     # root -> right; node 3 points at 3
    assert p.pick() == 3


@pytest.mark.parametrize("n", [1, 2, 8, 16])
def test_plru_never_evicts_the_most_recent(n):
    p = TreePLRU(n)
    rng = random.Random(n)
    for _ in range(200):
        i = rng.randrange(n)
        p.touch(i)
        if n > 1:
            assert p.pick() != i


def test_bad_configurations_are_clear_errors():
    with pytest.raises(JitnicError, match="power of two"):
        LRU(6)
    with pytest.raises(JitnicError, match="unknown policy"):
        make_policy("mru", 4)
