"""A whole object in the kernel, the way libbpf would set it up, from the loader's linked program:

1. a private network namespace (`netns.PrivateNetns`) with a device for every ifindex a devmap
   entry names and the user's FIB as devices, routes and neighbours (`fibnet`), so devmap updates
   succeed, bpf_fib_lookup answers from that FIB, and nothing the helpers see depends on this host;
2. every map of the object created with BPF_MAP_CREATE (a map-in-map's inner template first, passed
   as inner_map_fd), global data filled with its initial bytes;
3. the statically initialized prog_array / map-in-map slots (`MapDef.initial_entries`), then the
   map-contents JSON (`jit.ebpf.maps.contents`) loaded: values, per-CPU values, inner maps and
   programs by name; then the `.rodata` maps frozen (BPF_MAP_FREEZE, so the verifier may trust their bytes);
4. the program relocated (`LinkedProgram.relocate` with the real fds) and loaded; every program a
   prog_array entry names is linked against the same maps, loaded, and put into its slot;
5. `run(packet)`: BPF_PROG_TEST_RUN, on CPU 0 (the thread is pinned while it runs, so
   bpf_get_smp_processor_id and per-CPU slots are those of CPU 0, like the interpreter's default);
6. `dump()`: every map read back (GET_NEXT_KEY + LOOKUP) as `MapContents`, in the same form as the
   interpreter's: per-CPU values per possible CPU, prog_array slots and inner maps by name (the
   kernel answers with ids), all-zero array entries left out, entries in key order.
"""
from __future__ import annotations

import contextlib
import os

from jit.ebpf import elf
from jit.ebpf.kernel import maps as km
from jit.ebpf.kernel.maps import KernelMap, object_id
from jit.ebpf.kernel.fibnet import netns_spec
from jit.ebpf.kernel.netns import PrivateNetns, available as netns_available
from jit.ebpf.kernel.program import KernelProgram, xdp_load_options
from jit.ebpf.kernel.syscall import KernelError
from jit.ebpf.maps import contents as mc
from jit.ebpf.maps.contents import Entry, MapContents

RUN_CPU = 0
DEVMAP_TYPES = (km.DEVMAP, km.DEVMAP_HASH)


def devmap_ifindexes(linked, contents) -> set[int]:
    """Every ifindex a devmap/devmap_hash entry of `contents` names (the value's first u32)."""
    out = set()
    for name, content in (contents or {}).items():
        d = linked.maps.get(name)
        if d is None or d.type not in DEVMAP_TYPES:
            continue
        for e in content.entries:
            if e.value is not None and len(e.value) >= 4:
                out.add(int.from_bytes(e.value[:4], "little"))
    return out


def with_static_entries(linked, contents) -> dict[str, MapContents]:
    """`contents` preceded by the slots a prog_array / map-in-map initializes statically in `.maps`
    (`MapDef.initial_entries`), as libbpf fills them at load; the user's entries come after and win."""
    out = dict(contents)
    for name, d in linked.maps.items():
        if not d.initial_entries:
            continue
        static = [Entry(index.to_bytes(d.key_size, "little"), program=target) if kind == "program"
                  else Entry(index.to_bytes(d.key_size, "little"), map=target)
                  for index, kind, target in d.initial_entries]
        given = contents.get(name)
        out[name] = MapContents(name, d.type_name, d.key_size, d.value_size, d.max_entries,
                                static + (list(given.entries) if given else []))
    return out


def _key_order(d, key: bytes):
    """Array maps in index order, the others by key bytes (the interpreter's dump order)."""
    return int.from_bytes(key, "little") if d.type in km.ARRAY_TYPES else key


class KernelObject:
    """One program of an ELF object loaded into the kernel with its maps. Close it (or use it as a
    context manager) to release the maps, the programs and the namespace."""

    def __init__(self, linked, contents: dict[str, MapContents] | None = None,
                 private_netns: bool | None = None, fib=None):
        """`linked`: `elf.LinkedProgram`; `contents`: parsed map contents (`contents.read_file`);
        `fib`: the user's FIB (`jit.ebpf.fib.Fib`) for bpf_fib_lookup, built into the namespace
        (`fibnet`). `private_netns`: None = use one where this process may make it."""
        self.linked = linked
        # the sizes a contents file gives maps the object leaves at max_entries 0 (libbpf's
        # bpf_map__set_max_entries before creating them)
        self.defs = mc.sized(linked.maps, contents)
        self.maps: dict[str, KernelMap] = {}
        self.programs: dict[str, KernelProgram] = {}
        self.netns: PrivateNetns | None = None
        self._batch = False
        self._ids: dict[tuple[str, int], str] = {}
        contents = with_static_entries(linked, contents or {})
        try:
            if private_netns is None:
                private_netns = netns_available()[0]
            if fib is not None and not private_netns:
                raise KernelError("a FIB needs the private network namespace")
            if private_netns:
                devices, routes, neighbors = netns_spec(fib) if fib is not None else ([], [], [])
                have = {d.ifindex for d in devices}
                devices += [i for i in devmap_ifindexes(linked, contents) if i not in have]
                self.netns = PrivateNetns(devices, routes, neighbors)
            with self._inside():
                self._create_maps()
                self._fill(contents)
                for name, d in self.defs.items():
                    if d.frozen:
                        self.maps[name].freeze()
                fds = {name: m.fd for name, m in self.maps.items()}
                self.main = self._load(linked, fds)
                self._fill_prog_arrays(contents, fds)
        except BaseException:
            self.close()
            raise

    def _inside(self):
        return self.netns.inside() if self.netns else contextlib.nullcontext()

    # -- set-up --
    def _create_maps(self) -> None:
        for name, d in self.defs.items():
            max_entries = d.max_entries
            if d.type == km.PERF_EVENT_ARRAY and max_entries == 0:
                max_entries = km.possible_cpus()       # libbpf's default
            inner_fd = 0
            template = None
            if d.type in km.MAP_IN_MAP_TYPES:
                if d.inner is None:
                    raise KernelError(f"map {name!r}: a map-in-map needs its inner map's "
                                      f"definition (__array(values, ...))")
                i = d.inner
                inner_max = i.max_entries
                if i.type == km.PERF_EVENT_ARRAY and inner_max == 0:
                    inner_max = km.possible_cpus()
                template = KernelMap(f"{name}.inner", i.type, i.key_size, i.value_size,
                                     inner_max, i.flags)
                inner_fd = template.fd
            try:
                self.maps[name] = KernelMap(name, d.type, d.key_size, d.value_size, max_entries,
                                            d.flags, inner_fd)
            finally:
                if template is not None:
                    template.close()
            if d.initial is not None:
                self.maps[name].update(bytes(4), d.initial)

    def _fill(self, contents) -> None:
        for name, content in contents.items():
            m = self.maps[name]
            for e in content.entries:
                if e.program is not None:
                    continue                            # after the programs are loaded
                if e.map is not None:
                    if e.map not in self.maps:
                        raise KernelError(f"map {name!r}: entry {e.key.hex()} names map "
                                          f"{e.map!r}, which the object does not have")
                    m.update(e.key, self.maps[e.map].fd.to_bytes(4, "little"))
                elif e.values is not None:
                    m.update(e.key, list(e.values))
                else:
                    m.update(e.key, e.value)

    def _load(self, linked, fds) -> KernelProgram:
        insns = linked.relocate(fds)
        attach, flags = xdp_load_options(linked.section)
        prog = KernelProgram(insns, name=linked.name, license=linked.license or "GPL",
                             expected_attach_type=attach, prog_flags=flags)
        self.programs[linked.name] = prog
        return prog

    def _fill_prog_arrays(self, contents, fds) -> None:
        for name, content in contents.items():
            for e in content.entries:
                if e.program is None:
                    continue
                target = elf.link_program(self.linked.object, e.program)
                prog = self.programs.get(target.name) or self._load(target, fds)
                self.maps[name].update(e.key, prog.fd.to_bytes(4, "little"))

    # -- running --
    def run(self, packet: bytes) -> tuple[int, bytes]:
        """(action, packet after the program) from BPF_PROG_TEST_RUN, run on CPU RUN_CPU in the
        object's namespace. Inside `batch()` the namespace and CPU are entered once."""
        if self._batch:
            return self.main.run(packet)
        with self.batch():
            return self.main.run(packet)

    @contextlib.contextmanager
    def batch(self):
        """Enter the namespace and pin to RUN_CPU once for many `run`s."""
        if self._batch:
            yield self
            return
        with self._inside(), _pinned(RUN_CPU):
            self._batch = True
            try:
                yield self
            finally:
                self._batch = False

    # -- reading back --
    def _names_by_id(self) -> dict[tuple[str, int], str]:
        if not self._ids:
            for name, m in self.maps.items():
                self._ids[("map", object_id(m.fd))] = name
            for name, p in self.programs.items():
                self._ids[("prog", object_id(p.fd))] = name
        return self._ids

    def dump(self) -> dict[str, MapContents]:
        """Every map's contents, in the interpreter's dump form (see the module docstring)."""
        out = {}
        for name, d in self.defs.items():
            content = MapContents(name, d.type_name, d.key_size, d.value_size, d.max_entries)
            if d.type not in (km.PERF_EVENT_ARRAY, km.RINGBUF):
                items = sorted(self.maps[name].items(), key=lambda kv: _key_order(d, kv[0]))
                content.entries = [e for key, value in items
                                   if (e := self._entry(d, key, value)) is not None]
            out[name] = content
        return out

    def _entry(self, d, key: bytes, value) -> Entry | None:
        if d.type == km.PROG_ARRAY or d.type in km.MAP_IN_MAP_TYPES:
            kind = "prog" if d.type == km.PROG_ARRAY else "map"
            ident = int.from_bytes(value[:4], "little")
            name = self._names_by_id().get((kind, ident), f"<{kind} id {ident}>")
            return Entry(key, program=name) if kind == "prog" else Entry(key, map=name)
        if isinstance(value, list):
            if d.type in km.ARRAY_TYPES and not any(any(v) for v in value):
                return None
            return Entry(key, values=tuple(value))
        if d.type in km.ARRAY_TYPES and not any(value):
            return None
        return Entry(key, value=value)

    # -- lifetime --
    def close(self) -> None:
        for prog in getattr(self, "programs", {}).values():
            prog.close()
        for m in getattr(self, "maps", {}).values():
            m.close()
        if getattr(self, "netns", None) is not None:
            self.netns.close()

    def __enter__(self) -> "KernelObject":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def _pinned(cpu: int):
    """Run the block on `cpu` (the calling thread only); unpinned where the CPU is not allowed."""
    try:
        before = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        yield
        return
    if cpu not in before or before == {cpu}:
        yield
        return
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
