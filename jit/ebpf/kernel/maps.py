"""One map in the kernel: BPF_MAP_CREATE, element update/lookup/delete, iteration with
BPF_MAP_GET_NEXT_KEY, BPF_MAP_FREEZE.

Per-CPU maps (percpu_array, percpu_hash, lru_percpu_hash) exchange one value per *possible* CPU with
user space, each padded to a multiple of 8 bytes (the kernel's `round_up(value_size, 8)`);
`KernelMap` hides the padding: it takes and returns a list of `value_size`-byte values.
Map-in-map and prog_array values are file descriptors on update and object ids on lookup.
"""
from __future__ import annotations

import ctypes
import errno
import functools
import os
from pathlib import Path

from jit.ebpf.kernel.syscall import OwnedFd
from jit.ebpf.kernel.syscall import (BPF_MAP_CREATE, BPF_MAP_DELETE_ELEM, BPF_MAP_FREEZE,
                                     BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM,
                                     BPF_OBJ_GET_INFO_BY_FD, KernelError, _InfoByFdAttr,
                                     _MapCreateAttr, _MapElemAttr, _MapFdAttr, bpf, obj_name)

# enum bpf_map_type (linux/bpf.h)
HASH, ARRAY, PROG_ARRAY, PERF_EVENT_ARRAY, PERCPU_HASH, PERCPU_ARRAY = 1, 2, 3, 4, 5, 6
LRU_HASH, LRU_PERCPU_HASH, LPM_TRIE, ARRAY_OF_MAPS, HASH_OF_MAPS = 9, 10, 11, 12, 13
DEVMAP, CPUMAP, DEVMAP_HASH, RINGBUF = 14, 16, 25, 27
PERCPU_TYPES = frozenset({PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH})
MAP_IN_MAP_TYPES = frozenset({ARRAY_OF_MAPS, HASH_OF_MAPS})
ARRAY_TYPES = frozenset({ARRAY, PERCPU_ARRAY, PROG_ARRAY, PERF_EVENT_ARRAY, ARRAY_OF_MAPS,
                         DEVMAP, CPUMAP})

# BPF_MAP_UPDATE_ELEM flags
BPF_ANY, BPF_NOEXIST, BPF_EXIST = 0, 1, 2
# map_flags
BPF_F_NO_PREALLOC = 1 << 0
BPF_F_RDONLY_PROG = 1 << 7
BPF_F_MMAPABLE = 1 << 10

POSSIBLE_CPUS = Path("/sys/devices/system/cpu/possible")
BPF_MAP_INFO_SIZE = 88    # struct bpf_map_info up to map_extra: enough for type and id


@functools.lru_cache(maxsize=None)
def possible_cpus() -> int:
    """How many per-CPU slots the kernel exchanges: the highest possible CPU + 1 (like libbpf)."""
    try:
        text = POSSIBLE_CPUS.read_text().strip()
    except OSError:
        return os.cpu_count() or 1
    highest = 0
    for part in text.split(","):
        highest = max(highest, int(part.split("-")[-1]))
    return highest + 1


def _buf(data: bytes | None, size: int):
    buf = ctypes.create_string_buffer(size or 1)
    if data:
        ctypes.memmove(buf, data, len(data))
    return buf


class KernelMap(OwnedFd):
    """A map created in the kernel. `close()` (or the context manager) releases its fd."""

    def __init__(self, name: str, map_type: int, key_size: int, value_size: int, max_entries: int,
                 flags: int = 0, inner_map_fd: int = 0):
        self.name, self.type = name, map_type
        self.key_size, self.value_size, self.max_entries = key_size, value_size, max_entries
        self.flags = flags
        self.percpu = map_type in PERCPU_TYPES
        self.ncpus = possible_cpus() if self.percpu else 1
        self.slot = (value_size + 7) // 8 * 8 if self.percpu else value_size
        attr = _MapCreateAttr()
        attr.map_type, attr.key_size, attr.value_size = map_type, key_size, value_size
        attr.max_entries, attr.map_flags, attr.inner_map_fd = max_entries, flags, inner_map_fd
        attr.map_name = obj_name(name)
        self.fd = -1
        try:
            self.fd = bpf(BPF_MAP_CREATE, attr)
        except OSError as exc:
            raise KernelError(f"BPF_MAP_CREATE {name!r} (type {map_type}, key {key_size}, value "
                              f"{value_size}, max_entries {max_entries}, flags {flags:#x}): "
                              f"{exc.strerror}") from None

    # -- elements --
    def _elem(self, cmd: int, key: bytes | None, value, flags: int = 0) -> _MapElemAttr:
        attr = _MapElemAttr()
        attr.map_fd = self.fd
        attr.key = ctypes.addressof(key) if key is not None else 0
        attr.value = ctypes.addressof(value) if value is not None else 0
        attr.flags = flags
        return attr

    def _key(self, key: bytes):
        if len(key) != self.key_size:
            raise KernelError(f"map {self.name!r}: key of {len(key)} bytes, expected {self.key_size}")
        return _buf(key, self.key_size)

    def update(self, key: bytes, value: bytes | list[bytes], flags: int = BPF_ANY) -> None:
        """Set `key` to `value`; per-CPU maps take a list (one value per possible CPU) or one value
        for every CPU."""
        kbuf = self._key(key)
        if self.percpu:
            values = value if isinstance(value, list) else [value] * self.ncpus
            if len(values) != self.ncpus:
                raise KernelError(f"map {self.name!r}: {len(values)} per-CPU values, the kernel "
                                  f"has {self.ncpus} possible CPUs")
            raw = b"".join(self._check_value(v).ljust(self.slot, b"\0") for v in values)
        else:
            raw = self._check_value(value)
        vbuf = _buf(raw, len(raw))
        try:
            bpf(BPF_MAP_UPDATE_ELEM, self._elem(BPF_MAP_UPDATE_ELEM, kbuf, vbuf, flags))
        except OSError as exc:
            raise KernelError(f"map {self.name!r}: update of key {key.hex()}: {exc.strerror}") \
                from None

    def _check_value(self, value: bytes) -> bytes:
        if len(value) != self.value_size:
            raise KernelError(f"map {self.name!r}: value of {len(value)} bytes, expected "
                              f"{self.value_size}")
        return value

    def lookup(self, key: bytes) -> bytes | list[bytes] | None:
        """The value at `key` (a list per CPU for per-CPU maps), None if absent."""
        kbuf = self._key(key)
        size = self.slot * self.ncpus
        vbuf = _buf(None, size)
        try:
            bpf(BPF_MAP_LOOKUP_ELEM, self._elem(BPF_MAP_LOOKUP_ELEM, kbuf, vbuf))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise KernelError(f"map {self.name!r}: lookup of key {key.hex()}: {exc.strerror}") \
                from None
        raw = vbuf.raw[:size]
        if self.percpu:
            return [raw[i * self.slot:i * self.slot + self.value_size] for i in range(self.ncpus)]
        return raw

    def delete(self, key: bytes) -> bool:
        """Delete `key`; False if it was absent."""
        kbuf = self._key(key)   # a local: the attr holds only its address
        try:
            bpf(BPF_MAP_DELETE_ELEM, self._elem(BPF_MAP_DELETE_ELEM, kbuf, None))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise KernelError(f"map {self.name!r}: delete of key {key.hex()}: {exc.strerror}") \
                from None
        return True

    def keys(self) -> list[bytes]:
        """Every key, in the kernel's iteration order (BPF_MAP_GET_NEXT_KEY from no key)."""
        out: list[bytes] = []
        key = None
        nxt = _buf(None, self.key_size)
        while True:
            try:
                bpf(BPF_MAP_GET_NEXT_KEY, self._elem(BPF_MAP_GET_NEXT_KEY, key, nxt))
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return out
                raise KernelError(f"map {self.name!r}: get_next_key: {exc.strerror}") from None
            out.append(nxt.raw[:self.key_size])
            if len(out) > self.max_entries:
                raise KernelError(f"map {self.name!r}: iteration returned more than max_entries "
                                  f"({self.max_entries}) keys")
            key = _buf(out[-1], self.key_size)

    def items(self) -> list[tuple[bytes, bytes | list[bytes]]]:
        """(key, value) for every key; a key deleted while iterating is skipped."""
        out = []
        for key in self.keys():
            value = self.lookup(key)
            if value is not None:
                out.append((key, value))
        return out

    def freeze(self) -> None:
        """BPF_MAP_FREEZE: no more writes from user space (the verifier may then treat a read-only
        map's contents as constants)."""
        attr = _MapFdAttr()
        attr.map_fd = self.fd
        try:
            bpf(BPF_MAP_FREEZE, attr)
        except OSError as exc:
            raise KernelError(f"map {self.name!r}: freeze: {exc.strerror}") from None

    def id(self) -> int:
        """The kernel's id of this map (what a map-in-map lookup returns)."""
        return object_id(self.fd)



def object_id(fd: int) -> int:
    """The id of a map or program fd (BPF_OBJ_GET_INFO_BY_FD; `id` is the second u32 of both
    struct bpf_map_info and struct bpf_prog_info)."""
    info = ctypes.create_string_buffer(BPF_MAP_INFO_SIZE)
    attr = _InfoByFdAttr()
    attr.bpf_fd, attr.info_len, attr.info = fd, BPF_MAP_INFO_SIZE, ctypes.addressof(info)
    try:
        bpf(BPF_OBJ_GET_INFO_BY_FD, attr)
    except OSError as exc:
        raise KernelError(f"BPF_OBJ_GET_INFO_BY_FD: {exc.strerror}") from None
    return int.from_bytes(info.raw[4:8], "little")
