"""The host runtime: the miss handler (trace -> optimize -> encode -> install, deduped), the run loop
shared by the model and RTL engines, and cache sweeps with Belady's optimum."""
