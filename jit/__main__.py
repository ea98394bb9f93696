"""`python -m jit` is the same CLI as the `jitnic` console script."""
from jit.cli import main

raise SystemExit(main())
