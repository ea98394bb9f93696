"""The miss path's compiler: run the program concolically on one packet (tracer), turn the path
taken into an exact weakest precondition and installable atoms (pathcond), and shrink the trace and
its atoms (opt). The host encodes and installs the result (jit.host, jit.nic.encoding)."""
