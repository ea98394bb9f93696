`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC eBPF ALU: combinational ALU/ALU64 operations and byte swaps (division is jitnic_div).

/*
 * One eBPF ALU or ALU64 instruction (class 0x04 / 0x07), from the raw instruction fields and the
 * two register values. Purely combinational; no validity checking (jitnic_exec decodes).
 *
 *   op    = opcode[7:4]  (BPF_ADD 0x0 .. BPF_ARSH 0xc, BPF_END 0xd)
 *   alu64 = class is ALU64
 *   src_x = opcode[3]: the operand is the source register (BPF_X), else the immediate (BPF_K);
 *           for BPF_END it is the direction bit (0 to-le, 1 to-be)
 *
 * Semantics (RFC 9669, jit/interp.py): the K operand is imm sign-extended to 64 bits; 32-bit
 * forms use the low 32 bits of both operands and zero-extend the result; shift counts are masked
 * to 31/63; MOV with off 8/16/32 (register form) is movsx; END with ALU64 is an unconditional
 * bswap; END to-le only truncates (little-endian machine); END results are zero-extended from the
 * swap width (imm = 16/32/64). For BPF_DIV/BPF_MOD `result` is 0: jitnic_div computes them from
 * `opnd_a` and `opnd_b`.
 */
module jitnic_alu (
    // instruction fields
    input  wire [3:0]  op,        // opcode[7:4]
    input  wire        alu64,     // 1: ALU64 class, 0: ALU (32-bit)
    input  wire        src_x,     // opcode[3]
    input  wire [15:0] off,       // movsx width selector (8/16/32)
    input  wire [31:0] imm,       // K operand; swap width for BPF_END
    // operands
    input  wire [63:0] dst_val,   // value of the dst register
    input  wire [63:0] src_val,   // value of the src register (used when src_x)
    // results
    output wire [63:0] opnd_a,    // dst operand as the op sees it (= dst_val)
    output wire [63:0] opnd_b,    // second operand: src_val, or imm sign-extended to 64 bits
    output reg  [63:0] result     // new dst value
);

localparam [3:0] OP_ADD = 4'h0, OP_SUB = 4'h1, OP_MUL = 4'h2, OP_DIV = 4'h3, OP_OR = 4'h4,
                 OP_AND = 4'h5, OP_LSH = 4'h6, OP_RSH = 4'h7, OP_NEG = 4'h8, OP_MOD = 4'h9,
                 OP_XOR = 4'ha, OP_MOV = 4'hb, OP_ARSH = 4'hc, OP_END = 4'hd;

wire [63:0] a = dst_val;
wire [63:0] b = src_x ? src_val : {{32{imm[31]}}, imm};

assign opnd_a = a;
assign opnd_b = b;

// 32-bit forms: shift counts 0..31, right shifts see the low word zero/sign-extended
wire [5:0]  shamt = alu64 ? b[5:0] : {1'b0, b[4:0]};
wire [63:0] a_lo_zx = {32'd0, a[31:0]};
wire [63:0] a_lo_sx = {{32{a[31]}}, a[31:0]};
wire [63:0] a_rsh = alu64 ? a : a_lo_zx;
wire [63:0] a_arsh = alu64 ? a : a_lo_sx;

wire [63:0] mul_full = a * b;   // low 64 bits; the low 32 bits are the 32-bit product too

// movsx (register form, off = 8/16/32); any other off is plain mov (the decoder rejects the rest)
reg [63:0] mov_val;
always @* begin
    case (off)
        16'd8:   mov_val = {{56{b[7]}}, b[7:0]};
        16'd16:  mov_val = {{48{b[15]}}, b[15:0]};
        16'd32:  mov_val = {{32{b[31]}}, b[31:0]};
        default: mov_val = b;
    endcase
end

// byte swaps: ALU|END to-le truncates, to-be and ALU64 bswap reverse the low imm/8 bytes
wire        do_swap = alu64 | src_x;
wire [63:0] swap16 = {48'd0, a[7:0], a[15:8]};
wire [63:0] swap32 = {32'd0, a[7:0], a[15:8], a[23:16], a[31:24]};
wire [63:0] swap64 = {a[7:0], a[15:8], a[23:16], a[31:24], a[39:32], a[47:40], a[55:48], a[63:56]};
reg  [63:0] end_val;
always @* begin
    case (imm[6:4])
        3'b001:  end_val = do_swap ? swap16 : {48'd0, a[15:0]};   // 16
        3'b010:  end_val = do_swap ? swap32 : {32'd0, a[31:0]};   // 32
        default: end_val = do_swap ? swap64 : a;                   // 64
    endcase
end

reg [63:0] raw;
always @* begin
    case (op)
        OP_ADD:  raw = a + b;
        OP_SUB:  raw = a - b;
        OP_MUL:  raw = mul_full;
        OP_OR:   raw = a | b;
        OP_AND:  raw = a & b;
        OP_LSH:  raw = a << shamt;
        OP_RSH:  raw = a_rsh >> shamt;
        OP_NEG:  raw = -a;
        OP_XOR:  raw = a ^ b;
        OP_MOV:  raw = mov_val;
        OP_ARSH: raw = $signed(a_arsh) >>> shamt;
        OP_DIV, OP_MOD: raw = 64'd0;   // jitnic_div
        default: raw = 64'd0;          // END (below), undefined ops
    endcase
    if (op == OP_END) begin
        result = end_val;
    end else if (alu64) begin
        result = raw;
    end else begin
        result = {32'd0, raw[31:0]};
    end
end

endmodule

`resetall
