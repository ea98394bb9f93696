"""A forwarding table the user gives (`--fib FILE`), for `bpf_fib_lookup` (net/core/filter.c,
bpf_ipv4_fib_lookup / bpf_ipv6_fib_lookup), instead of the host's own routes and neighbours.

    {"interfaces": [{"ifindex": 2, "mac": "02:00:00:00:00:02", "mtu": 1500, "forwarding": true}],
     "routes": [{"prefix": "10.1.0.0/16", "ifindex": 2, "gateway": "10.0.0.1",
                 "type": "unicast", "metric": 0}],
     "neighbors": [{"ip": "10.0.0.1", "mac": "02:00:00:00:00:99"}]}

`lookup(params, flags)` follows the kernel's order on `struct bpf_fib_lookup` (64 bytes):
1. family AF_INET (2) or AF_INET6 (10), else -EAFNOSUPPORT; the ingress interface
   (`params.ifindex`) must exist (-ENODEV) and forward, unless BPF_FIB_LOOKUP_OUTPUT
   (-> BPF_FIB_LKUP_RET_FWD_DISABLED);
2. longest-prefix match on the destination; no route -> NOT_FWDED; route type blackhole,
   unreachable, prohibit -> BLACKHOLE, UNREACHABLE, PROHIBIT;
3. `tot_len` > the egress MTU -> FRAG_NEEDED with `mtu_result` = MTU;
4. `ifindex` = egress interface, `rt_metric` = the route's metric, the destination replaced by the
   gateway when the route has one;
5. unless BPF_FIB_LOOKUP_SKIP_NEIGH: the next hop's neighbour entry must exist (else NO_NEIGH);
   `dmac` = its MAC, `smac` = the egress interface's MAC;
6. VLAN fields cleared, `mtu_result` = egress MTU, SUCCESS.
Subset: one table (policy routing, `BPF_FIB_LOOKUP_DIRECT`'s table choice and
BPF_FIB_LOOKUP_TBID/SRC are not modelled: TBID/SRC raise an error naming the flag), no ECMP,
no VLAN or tunnel devices, no per-route MTU.
"""
from __future__ import annotations

import ipaddress
import json
import struct
from dataclasses import dataclass
from pathlib import Path

from jit import JitnicError

AF_INET, AF_INET6 = 2, 10
PARAMS_SIZE = 64
RET_SUCCESS, RET_BLACKHOLE, RET_UNREACHABLE, RET_PROHIBIT, RET_NOT_FWDED, RET_FWD_DISABLED, \
    RET_UNSUPP_LWT, RET_NO_NEIGH, RET_FRAG_NEEDED = range(9)
LOOKUP_DIRECT, LOOKUP_OUTPUT, LOOKUP_SKIP_NEIGH, LOOKUP_TBID, LOOKUP_SRC = 1, 2, 4, 8, 16
ENODEV, EINVAL, EAFNOSUPPORT = 19, 22, 97
ROUTE_TYPES = {"unicast": RET_SUCCESS, "blackhole": RET_BLACKHOLE,
               "unreachable": RET_UNREACHABLE, "prohibit": RET_PROHIBIT}


class FibError(JitnicError):
    """A FIB file that cannot be used, or a lookup flag outside the model: one line."""


@dataclass(frozen=True)
class Interface:
    ifindex: int
    mac: bytes
    mtu: int = 1500
    forwarding: bool = True


@dataclass(frozen=True)
class Route:
    net: ipaddress.IPv4Network | ipaddress.IPv6Network
    ifindex: int
    gateway: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    kind: int
    metric: int = 0


def _mac(text, where: str) -> bytes:
    try:
        mac = bytes.fromhex(str(text).replace(":", "").replace("-", ""))
    except ValueError:
        mac = b""
    if len(mac) != 6:
        raise FibError(f"{where}: {text!r} is not a MAC address")
    return mac


class Fib:
    def __init__(self, interfaces: list[Interface], routes: list[Route],
                 neighbors: dict[ipaddress._BaseAddress, bytes]):
        self.interfaces = {i.ifindex: i for i in interfaces}
        self.routes = routes
        self.neighbors = neighbors

    @classmethod
    def from_json(cls, doc, source: str = "fib") -> "Fib":
        if not isinstance(doc, dict):
            raise FibError(f"{source}: expected an object with interfaces, routes, neighbors")
        unknown = set(doc) - {"interfaces", "routes", "neighbors"}
        if unknown:
            raise FibError(f"{source}: unknown field {sorted(unknown)[0]!r}")
        try:
            ifs = [Interface(int(i["ifindex"]), _mac(i["mac"], f"{source}: interfaces[{n}].mac"),
                             int(i.get("mtu", 1500)), bool(i.get("forwarding", True)))
                   for n, i in enumerate(doc.get("interfaces", []))]
            routes = []
            for n, r in enumerate(doc.get("routes", [])):
                kind = ROUTE_TYPES.get(r.get("type", "unicast"))
                if kind is None:
                    raise FibError(f"{source}: routes[{n}].type {r['type']!r} is not one of "
                                   f"{', '.join(ROUTE_TYPES)}")
                gw = r.get("gateway")
                routes.append(Route(ipaddress.ip_network(r["prefix"], strict=False),
                                    int(r.get("ifindex", 0)),
                                    ipaddress.ip_address(gw) if gw else None, kind,
                                    int(r.get("metric", 0))))
            neigh = {ipaddress.ip_address(x["ip"]): _mac(x["mac"], f"{source}: neighbors[{n}].mac")
                     for n, x in enumerate(doc.get("neighbors", []))}
        except FibError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FibError(f"{source}: {type(exc).__name__}: {exc}") from None
        for n, r in enumerate(routes):
            if r.kind == RET_SUCCESS and r.ifindex not in {i.ifindex for i in ifs}:
                raise FibError(f"{source}: routes[{n}] uses ifindex {r.ifindex}, which no "
                               "interface has")
        return cls(ifs, routes, neigh)

    @classmethod
    def read(cls, path: str | Path) -> "Fib":
        try:
            doc = json.loads(Path(path).read_text())
        except OSError as exc:
            raise FibError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise FibError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}") from None
        return cls.from_json(doc, str(path))

    def lookup(self, params: bytearray, flags: int) -> int:
        """Update `params` (struct bpf_fib_lookup) in place; return the helper's result."""
        if flags & (LOOKUP_TBID | LOOKUP_SRC):
            raise FibError("bpf_fib_lookup: flags BPF_FIB_LOOKUP_TBID/SRC are not modelled")
        family = params[0]
        if family == AF_INET:
            dst = ipaddress.IPv4Address(bytes(params[32:36]))
        elif family == AF_INET6:
            dst = ipaddress.IPv6Address(bytes(params[32:48]))
        else:
            return -EAFNOSUPPORT
        ingress = self.interfaces.get(struct.unpack_from("<I", params, 8)[0])
        if ingress is None:
            return -ENODEV
        if not flags & LOOKUP_OUTPUT and not ingress.forwarding:
            return RET_FWD_DISABLED
        best = None
        for r in self.routes:
            if r.net.version == dst.version and dst in r.net and \
                    (best is None or r.net.prefixlen > best.net.prefixlen):
                best = r
        if best is None:
            return RET_NOT_FWDED
        if best.kind != RET_SUCCESS:
            return best.kind
        egress = self.interfaces[best.ifindex]
        tot_len = struct.unpack_from("<H", params, 6)[0]
        if tot_len > egress.mtu:
            struct.pack_into("<H", params, 6, egress.mtu)
            return RET_FRAG_NEEDED
        struct.pack_into("<I", params, 8, egress.ifindex)
        struct.pack_into("<I", params, 12, best.metric)
        nexthop = best.gateway or dst
        if best.gateway is not None:
            params[32:32 + len(nexthop.packed)] = nexthop.packed
        if not flags & LOOKUP_SKIP_NEIGH:
            mac = self.neighbors.get(nexthop)
            if mac is None:
                return RET_NO_NEIGH
            params[58:64] = mac
            params[52:58] = egress.mac
        params[48:52] = bytes(4)                          # h_vlan_proto, h_vlan_TCI
        struct.pack_into("<H", params, 6, egress.mtu)     # mtu_result
        return RET_SUCCESS
