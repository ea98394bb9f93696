`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC eBPF divider: iterative radix-2 div/mod/sdiv/smod, 32- and 64-bit, with eBPF edge rules.

/*
 * Restoring radix-2 division of magnitudes, one quotient bit per cycle, then a sign fix-up.
 *
 *   start (one cycle, while not busy) latches the operands. The result is valid, and `done` is
 *   high for exactly one cycle, ITERS_64 + 1 cycles later for 64-bit operations, ITERS_32 + 1 for
 *   32-bit ones, and 1 cycle later when the divisor is zero.
 *
 * eBPF rules (RFC 9669, jit/interp.py): division by zero gives 0; modulo by zero leaves the
 * dividend (its low 32 bits, zero-extended, for 32-bit operations); signed forms truncate toward
 * zero, the remainder takes the dividend's sign; INT_MIN / -1 = INT_MIN and INT_MIN % -1 = 0
 * (both fall out of the magnitude algorithm). 32-bit results are zero-extended.
 */
module jitnic_div (
    input  wire        clk,
    input  wire        rst,

    // request
    input  wire        start,      // pulse: latch the operands and begin
    input  wire        is64,       // 1: 64-bit operation, 0: 32-bit (low words only)
    input  wire        sgn,        // 1: sdiv/smod (off = 1), 0: unsigned
    input  wire        is_mod,     // 1: remainder, 0: quotient
    input  wire [63:0] dividend,   // dst value
    input  wire [63:0] divisor,    // src value or sign-extended immediate

    // result
    output wire        busy,       // a division is in progress (start is ignored)
    output wire        done,       // pulse: `result` is valid this cycle
    output wire [63:0] result
);

// operand preparation: extend 32-bit operands, take magnitudes of signed ones
wire [63:0] a_ext = is64 ? dividend : (sgn ? {{32{dividend[31]}}, dividend[31:0]} : {32'd0, dividend[31:0]});
wire [63:0] b_ext = is64 ? divisor : (sgn ? {{32{divisor[31]}}, divisor[31:0]} : {32'd0, divisor[31:0]});
wire        a_neg = sgn & a_ext[63];
wire        b_neg = sgn & b_ext[63];
wire [63:0] a_mag = a_neg ? -a_ext : a_ext;
wire [63:0] b_mag = b_neg ? -b_ext : b_ext;

reg        busy_reg = 1'b0, busy_next;
reg [6:0]  count_reg = 7'd0, count_next;     // iterations left
reg [63:0] rem_reg = 64'd0, rem_next;        // partial remainder (< divisor)
reg [63:0] quo_reg = 64'd0, quo_next;        // dividend bits still to shift out, quotient bits shifted in
reg [63:0] div_reg = 64'd0, div_next;        // divisor magnitude
reg        is64_reg = 1'b0, is64_next;
reg        mod_reg = 1'b0, mod_next;
reg        qneg_reg = 1'b0, qneg_next;       // negate the quotient
reg        rneg_reg = 1'b0, rneg_next;       // negate the remainder

// one restoring step on 65 bits: rem_sh < 2 * divisor, so the difference fits and bit 64 is its sign
wire [64:0] rem_sh = {rem_reg, quo_reg[63]};
wire [64:0] diff = rem_sh - {1'b0, div_reg};
wire        q_bit = ~diff[64];

wire [63:0] q_fix = qneg_reg ? -quo_reg : quo_reg;
wire [63:0] r_fix = rneg_reg ? -rem_reg : rem_reg;
wire [63:0] res = mod_reg ? r_fix : q_fix;

assign busy = busy_reg;
assign done = busy_reg && count_reg == 7'd0;
assign result = is64_reg ? res : {32'd0, res[31:0]};

always @* begin
    busy_next = busy_reg;
    count_next = count_reg;
    rem_next = rem_reg;
    quo_next = quo_reg;
    div_next = div_reg;
    is64_next = is64_reg;
    mod_next = mod_reg;
    qneg_next = qneg_reg;
    rneg_next = rneg_reg;

    if (busy_reg) begin
        if (count_reg == 7'd0) begin
            busy_next = 1'b0;
        end else begin
            rem_next = q_bit ? diff[63:0] : rem_sh[63:0];
            quo_next = {quo_reg[62:0], q_bit};
            count_next = count_reg - 7'd1;
        end
    end else if (start) begin
        busy_next = 1'b1;
        is64_next = is64;
        mod_next = is_mod;
        div_next = b_mag;
        if (b_ext == 64'd0) begin
            // by zero: quotient 0, remainder = dividend (zero-extended by `result` if 32-bit)
            count_next = 7'd0;
            quo_next = 64'd0;
            rem_next = a_ext;
            qneg_next = 1'b0;
            rneg_next = 1'b0;
        end else begin
            count_next = is64 ? 7'd64 : 7'd32;
            quo_next = is64 ? a_mag : {a_mag[31:0], 32'd0};
            rem_next = 64'd0;
            qneg_next = a_neg ^ b_neg;
            rneg_next = a_neg;
        end
    end
end

always @(posedge clk) begin
    busy_reg <= busy_next;
    count_reg <= count_next;
    rem_reg <= rem_next;
    quo_reg <= quo_next;
    div_reg <= div_next;
    is64_reg <= is64_next;
    mod_reg <= mod_next;
    qneg_reg <= qneg_next;
    rneg_reg <= rneg_next;

    if (rst) begin
        busy_reg <= 1'b0;
        count_reg <= 7'd0;
    end
end

endmodule

`resetall
