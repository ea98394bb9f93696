"""The NIC's parameters and their legal values, defined once: the CLI checks its flags with these
rules at parse time, `NicConfig` checks every configuration it is built with (model and RTL engine
alike), and `tb/regress.py` checks `make SIM=icarus POLICY=... N_ENTRIES=...` before building.

The ranges are the RTL's (docs/abi.md, the `initial` checks in rtl/jitnic_top.v and
rtl/jitnic_axil_regs.v), so a configuration the model accepts is one the hardware can be built with.
"""
from __future__ import annotations

from dataclasses import dataclass

from jit import JitnicError
from jit.nic.nic_helpers import HELPER_SETS
from jit.nic.policies import POLICIES

POLICY_NAMES = tuple(sorted(POLICIES))
ATOM_OFFSET_LIMIT = 1 << 12          # the atom word's offset field is 12 bits (jit.nic.encoding)


class ParamError(JitnicError):
    """A NIC parameter outside what the hardware supports."""


@dataclass(frozen=True)
class Range:
    """An integer parameter: `lo <= v <= hi`, optionally a power of two or a multiple of `step`."""
    lo: int
    hi: int
    power_of_two: bool = False
    step: int = 1

    def describe(self) -> str:
        kind = "a power of two" if self.power_of_two else (
            f"a multiple of {self.step}" if self.step > 1 else "an integer")
        return f"{kind} in {self.lo}..{self.hi}"

    def holds(self, v: int) -> bool:
        return (self.lo <= v <= self.hi and (not self.power_of_two or v & (v - 1) == 0)
                and v % self.step == 0)


# name -> legal values (names as in the RTL top's parameters)
RANGES = {
    "N_ENTRIES": Range(1, 64, power_of_two=True),
    "MAX_ATOMS": Range(1, 256),
    "N_SLOTS": Range(1, 64),
    "N_LEN_ATOMS": Range(0, 16),
    "N_GEN_ATOMS": Range(0, 64),
    "MAX_TRACE_LEN": Range(2, 1024),
    "HDR_BYTES": Range(16, ATOM_OFFSET_LIMIT, step=8),
    "PKT_BYTES": Range(16, 32768, step=8),
    "LATENCY": Range(0, 1 << 30),
    "SEED": Range(0, (1 << 32) - 1),
    "EXEC_BUDGET": Range(1, 1 << 20),
}


def check_int(name: str, value, flag: str | None = None) -> int:
    """`value` (an int, or text as on a command line) as an int if it is legal for parameter
    `name`, else ParamError: `FLAG must be ..., got VALUE` (FLAG defaults to the name)."""
    rule = RANGES[name]
    try:
        v = int(value, 0) if isinstance(value, str) else value
    except ValueError:
        v = None
    if not isinstance(v, int) or isinstance(v, bool) or not rule.holds(v):
        raise ParamError(f"{flag or name} must be {rule.describe()}, got {value!r}")
    return v


def check_policy(value: str, flag: str | None = None, extra: tuple[str, ...] = ()) -> str:
    choices = POLICY_NAMES + extra
    if value not in choices:
        raise ParamError(f"{flag or 'POLICY'} must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_helper_set(value: str, flag: str | None = None) -> str:
    """A NIC helper set's name (jit/nic/nic_helpers.HELPER_SETS: "full", "rtl")."""
    if value not in HELPER_SETS:
        raise ParamError(f"{flag or 'helper set'} must be one of {', '.join(HELPER_SETS)}, "
                         f"got {value!r}")
    return value


def check_config(n_entries: int, max_atoms: int, max_trace_len: int, hdr_bytes: int,
                 pkt_bytes: int, policy: str, seed: int, exec_budget: int = 1024,
                 n_slots: int = 16, n_len_atoms: int = 2, n_gen_atoms: int = 4) -> None:
    """Every parameter of one NIC configuration, and the rules that relate them."""
    check_int("N_ENTRIES", n_entries)
    check_int("MAX_ATOMS", max_atoms)
    check_int("N_SLOTS", n_slots)
    check_int("N_LEN_ATOMS", n_len_atoms)
    check_int("N_GEN_ATOMS", n_gen_atoms)
    if n_len_atoms + n_gen_atoms < 1:
        raise ParamError("N_LEN_ATOMS + N_GEN_ATOMS must be at least 1 (a length atom needs a cell)")
    check_int("MAX_TRACE_LEN", max_trace_len)
    check_int("HDR_BYTES", hdr_bytes)
    check_int("PKT_BYTES", pkt_bytes)
    check_int("SEED", seed)
    check_int("EXEC_BUDGET", exec_budget)
    check_policy(policy)
    if hdr_bytes > pkt_bytes:
        raise ParamError(f"HDR_BYTES ({hdr_bytes}) must not exceed PKT_BYTES ({pkt_bytes})")


def check_list(text: str, one, flag: str) -> list:
    """A comma-separated list of values each checked by `one(value)`; empty lists are errors."""
    values = [v.strip() for v in text.split(",")]
    if not text.strip() or any(not v for v in values):
        raise ParamError(f"{flag} wants a comma-separated list of values, got {text!r}")
    return [one(v) for v in values]
