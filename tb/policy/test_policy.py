"""jitnic_policy (each replacement policy) against jit.nic.policies, decision for decision.

Random sequences of the events the NIC produces (hits, fills into the victim chosen with the shared
"lowest invalid first" rule, invalidate-all, reseed) drive the RTL and the reference together; the
RTL's victim must equal the reference's pick after every step.
"""
from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from jit.nic.policies import choose_victim, make_policy
from tb.common.runner import param, run_cocotb

STEPS = 1500


class PolicyTb:
    def __init__(self, dut):
        self.dut = dut
        self.n = param("N_ENTRIES")
        Clock(dut.clk, 10, unit="ns", impl="gpi").start(start_high=False)
        for sig in ("touch_valid", "touch_index", "fill_valid", "fill_index", "fill_evict",
                    "invalidate_all", "seed_valid", "seed"):
            getattr(dut, sig).value = 0

    async def reset(self):
        self.dut.rst.value = 1
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0

    async def step(self, **signals):
        """Drive `signals` for one clock cycle, then return (at the falling edge) to idle inputs."""
        for name, value in signals.items():
            getattr(self.dut, name).value = value
        await RisingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        for name in signals:
            getattr(self.dut, name).value = 0

    def victim(self) -> int:
        return int(self.dut.victim.value)


@cocotb.test()
async def policy_matches_reference(dut):
    policy_name = param("POLICY", cast=str)
    tb = PolicyTb(dut)
    await tb.reset()
    rng = random.Random(f"{policy_name}-{tb.n}")
    ref = make_policy(policy_name, tb.n)
    valid = [False] * tb.n
    counts = {"touch": 0, "fill": 0, "evict": 0, "invalidate": 0, "reseed": 0, "idle": 0}

    assert tb.victim() == ref.pick(), "victim after reset"
    # invalidate rarely enough that even 64 entries fill up and evict between invalidations
    p_inv = min(0.05, 1 / (6 * tb.n))
    for step in range(STEPS):
        r = rng.random()
        if r < 0.40:
            index = rng.randrange(tb.n)
            await tb.step(touch_valid=1, touch_index=index)
            ref.touch(index)
            what = f"touch({index})"
            counts["touch"] += 1
        elif r < 0.85:
            # the commit path: victim = lowest invalid entry, else the policy's pick (from the RTL)
            index, evicting = choose_victim(ref, valid)
            if evicting:
                assert tb.victim() == index, f"step {step}: RTL victim {tb.victim()} != ref {index}"
            await tb.step(fill_valid=1, fill_index=index, fill_evict=int(evicting))
            ref.fill(index, evicting)
            valid[index] = True
            what = f"fill({index}, evict={evicting})"
            counts["fill"] += 1
            counts["evict"] += int(evicting)
        elif r < 0.85 + p_inv:
            await tb.step(invalidate_all=1)
            ref.invalidate_all()
            valid = [False] * tb.n
            what = "invalidate_all"
            counts["invalidate"] += 1
        elif r < 0.92:
            seed = rng.choice([0, rng.getrandbits(32), 1, 0xFFFF_FFFF])
            await tb.step(seed_valid=1, seed=seed)
            ref.reseed(seed)
            what = f"reseed({seed:#x})"
            counts["reseed"] += 1
        else:
            await tb.step()
            what = "idle"
            counts["idle"] += 1
        assert tb.victim() == ref.pick(), \
            f"step {step} after {what}: RTL victim {tb.victim()} != reference {ref.pick()}"
    dut._log.info("%s N=%d: %s", policy_name, tb.n, counts)
    assert counts["evict"] > STEPS // 10, "sequence did not exercise evicting fills"


@cocotb.test()
async def fill_wins_over_touch(dut):
    """A fill and a touch in the same cycle: the fill is applied (LRU/PLRU), as documented."""
    policy_name = param("POLICY", cast=str)
    tb = PolicyTb(dut)
    await tb.reset()
    n = tb.n
    ref = make_policy(policy_name, n)
    valid = [True] * n
    rng = random.Random(7)
    for _ in range(200):
        fill_index, evicting = choose_victim(ref, valid)
        touch_index = rng.randrange(n)
        await tb.step(fill_valid=1, fill_index=fill_index, fill_evict=int(evicting),
                      touch_valid=1, touch_index=touch_index)
        ref.fill(fill_index, evicting)
        assert tb.victim() == ref.pick()


POLICIES = ["lru", "fifo", "random", "plru"]
SIZES = [1, 2, 4, 16, 64]


@pytest.mark.rtl
@pytest.mark.parametrize("n_entries", SIZES)
@pytest.mark.parametrize("policy", POLICIES)
def test_policy(policy, n_entries):
    run_cocotb("jitnic_policy", "tb.policy.test_policy",
               parameters={"POLICY": policy, "N_ENTRIES": n_entries})
