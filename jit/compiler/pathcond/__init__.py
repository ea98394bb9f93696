"""Path conditions: symbolic expressions over the original packet, and their translation into the
NIC's hardware atoms (`jit.nic.encoding.Atom`).

The modules, in dependency order, one job each:

  expr        the expression language: Const, LEN, PktLoad, Alu, Swap (interned, hashable)
  bitview     bit views and linear views of expressions (what normalization works on)
  fold        smart constructors (constant folding, identities) and value bounds
  predicate   Cmp (one comparison) and Condition (their conjunction)
  normalize   one predicate -> exact atoms, or NotExact with the reason (field/interval solving)
  strengthen  a path's predicates -> the installed atoms: exact where possible, pinned otherwise,
              with a note per strengthening (`install_atoms`)
  pretty      readable predicates (`pkt[12:14] == 0x86dd`)

The names below are the package's interface to the tracer, the optimizer and the tests.
"""
from jit.compiler.pathcond.expr import LEN, ZERO, Alu, Const, Expr, PktLoad, Swap
from jit.compiler.pathcond.bitview import lin, view
from jit.compiler.pathcond.fold import alu, bounds, const, swap
from jit.compiler.pathcond.predicate import Cmp, Condition, atoms_hold, cmp
from jit.compiler.pathcond.normalize import NotExact, normalize
from jit.compiler.pathcond.strengthen import Installed, install_atoms
from jit.compiler.pathcond.pretty import pretty

__all__ = ["LEN", "ZERO", "Alu", "Const", "Expr", "PktLoad", "Swap", "lin", "view", "alu", "bounds",
           "const", "swap", "Cmp", "Condition", "atoms_hold", "cmp", "NotExact", "normalize",
           "Installed", "install_atoms", "pretty"]
