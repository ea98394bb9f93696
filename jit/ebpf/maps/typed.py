"""Map keys and values as typed data, read through the object's BTF (what `bpftool map dump`
prints): integers as numbers (signed where the type is), enums by name, structs and unions as
objects by member name, arrays as lists (char arrays as strings), global-data sections as objects
by variable name. Without BTF, or for a type this does not know, the raw bytes in hex."""
from __future__ import annotations

from jit.ebpf import elf

_MAX_DEPTH = 32
BTF_INT_SIGNED = 1 << 24      # in the INT encoding word (bits 24-27)


def typed(btf: "elf.Btf | None", type_id: int, data: bytes, depth: int = 0):
    if btf is None or type_id == 0 or depth > _MAX_DEPTH:
        return data.hex()
    type_id, t = btf.skip_modifiers(type_id)
    k = t.kind
    if k == elf.KIND_INT:
        signed = bool(t.int_encoding & BTF_INT_SIGNED)
        return int.from_bytes(data[:t.size_or_type], "little", signed=signed)
    if k in (elf.KIND_ENUM, elf.KIND_ENUM64):
        return int.from_bytes(data[:t.size_or_type], "little")
    if k == elf.KIND_PTR:
        return hex(int.from_bytes(data[:8], "little"))
    if k == elf.KIND_ARRAY:
        elem, _index, n = t.array
        size = btf.size_of(elem)
        _, et = btf.skip_modifiers(elem)
        if et.kind == elf.KIND_INT and size == 1 and et.name in ("char", "signed char",
                                                                  "unsigned char"):
            return data[:n].split(b"\0", 1)[0].decode(errors="replace")
        return [typed(btf, elem, data[i * size:(i + 1) * size], depth + 1) for i in range(n)]
    if k in (elf.KIND_STRUCT, elf.KIND_UNION):
        out = {}
        for i, (name, m_type, bit_off) in enumerate(t.members):
            off = bit_off // 8
            try:
                size = btf.size_of(m_type)
            except elf.BtfError:
                continue
            out[name or f"(anon {i})"] = typed(btf, m_type, data[off:off + size], depth + 1)
        return out
    if k == elf.KIND_DATASEC:
        out = {}
        for var_id, off, size in t.members:
            var = btf.type(var_id)
            out[var.name] = typed(btf, var.size_or_type, data[off:off + size], depth + 1)
        return out
    if k == elf.KIND_FLOAT:
        return data[:t.size_or_type].hex()
    return data.hex()
