"""Exception hierarchy. Every user-facing error derives from JitnicError and carries a one-line
message; the CLI prints it (no traceback) and exits with status 2."""


class JitnicError(Exception):
    """Base of all errors the project reports to a user."""
