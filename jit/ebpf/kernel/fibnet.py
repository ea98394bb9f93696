"""The user's FIB (`jit.ebpf.fib.Fib`, the `--fib` file the interpreter's bpf_fib_lookup reads) as the
oracle's private network namespace, so the kernel's bpf_fib_lookup answers from the same table:

- every interface becomes a device with its ifindex, MAC, MTU and IPv4/IPv6 forwarding setting
  (ifindex 1 is loopback, whose MAC stays 00:00:00:00:00:00);
- every route an `ip route add` in the main table: unicast routes with their gateway as `via ...
  onlink` (no addresses are configured, so the gateway must not need to be reachable) or as a
  directly connected route, blackhole/unreachable/prohibit as those route types, each with its
  metric;
- every neighbour a permanent neighbour entry on every device (the file does not say which device
  the neighbour is on, and fib_lookup looks it up on the route's egress device).
"""
from __future__ import annotations

from jit.ebpf.fib import (RET_BLACKHOLE, RET_PROHIBIT, RET_SUCCESS, RET_UNREACHABLE, Fib)
from jit.ebpf.kernel.netns import Device, PrivateNetns

ROUTE_TYPE_WORDS = {RET_BLACKHOLE: "blackhole", RET_UNREACHABLE: "unreachable",
                    RET_PROHIBIT: "prohibit"}


def _dev(ifindex: int) -> str:
    return "lo" if ifindex == 1 else PrivateNetns.device_name(ifindex)


def netns_spec(fib: Fib) -> tuple[list[Device], list[list[str]], list[list[str]]]:
    """(devices, routes, neighbors) for `PrivateNetns`."""
    devices = [Device(i.ifindex, i.mac, i.mtu, i.forwarding) for i in fib.interfaces.values()]
    routes = []
    for r in fib.routes:
        family = "-6" if r.net.version == 6 else "-4"
        if r.kind == RET_SUCCESS:
            spec = [family, str(r.net)]
            if r.gateway is not None:
                spec += ["via", str(r.gateway)]
            spec += ["dev", _dev(r.ifindex)]
            if r.gateway is not None:
                spec.append("onlink")
        else:
            spec = [family, ROUTE_TYPE_WORDS[r.kind], str(r.net)]
        routes.append(spec + ["metric", str(r.metric)])
    neighbors = []
    for ip, mac in fib.neighbors.items():
        family = "-6" if ip.version == 6 else "-4"
        for d in devices:
            if d.ifindex != 1:
                neighbors.append([family, str(ip), "lladdr", mac.hex(":"), "dev", _dev(d.ifindex),
                                  "nud", "permanent"])
    return devices, routes, neighbors
