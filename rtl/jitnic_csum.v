`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC bpf_csum_diff accumulator: 32-bit ones'-complement sum of words (some inverted) plus a seed.

/*
 * The executor clears the accumulator with the seed (r5), then adds the `from` bytes inverted and
 * the `to` bytes as they are, 4 or 8 bytes per `add` (little-endian u32 words as they lie in
 * memory: an 8-byte add is two words). `sum` is the end-around-carry sum of everything added
 * since `clear`, as jit/ebpf/helpers.py csum_diff computes it word by word: ones'-complement
 * addition gives 0 only when every operand is 0, and otherwise the one value in
 * [1, 0xffffffff] congruent to the plain sum mod 0xffffffff, whatever the order or grouping --
 * so a wide plain sum folded twice at the end is bit-exact with the word-by-word model.
 *
 * `sum` is combinational on the accumulator register (valid the cycle after the last add).
 */
module jitnic_csum #(
    // bytes one sum may cover (the kernel's limit is 512: 128 words); multiple of 4, >= 8
    parameter MAX_BYTES = 512,
    // accumulator width (derived, do not override): the seed + MAX_BYTES/4 words never overflow it
    parameter ACC_W = 32 + $clog2(MAX_BYTES / 4 + 2)
) (
    input  wire        clk,
    input  wire        rst,

    input  wire        clear,      // start a sum: the accumulator takes `seed`
    input  wire [31:0] seed,
    input  wire        add,        // add `data` (ignored with clear)
    input  wire        add_wide,   // 1: both words of data; 0: data[31:0] only
    input  wire        add_invert, // add the ones' complement of the words (csum_diff's `from`)
    input  wire [63:0] data,

    output wire [31:0] sum
);


initial begin
    if (MAX_BYTES < 8 || MAX_BYTES % 4 != 0) begin
        $display("Error: MAX_BYTES must be a multiple of 4, >= 8 (instance %m)");
        $finish;
    end
    if (ACC_W < 34 || ACC_W > 64) begin
        $display("Error: ACC_W out of range (instance %m)");
        $finish;
    end
end

reg [ACC_W-1:0] acc_reg = {ACC_W{1'b0}};

wire [63:0] words = add_invert ? ~data : data;
wire [ACC_W-1:0] lo = {{(ACC_W-32){1'b0}}, words[31:0]};
wire [ACC_W-1:0] hi = add_wide ? {{(ACC_W-32){1'b0}}, words[63:32]} : {ACC_W{1'b0}};

always @(posedge clk) begin
    if (clear) begin
        acc_reg <= {{(ACC_W-32){1'b0}}, seed};
    end else if (add) begin
        acc_reg <= acc_reg + lo + hi;
    end
    if (rst) begin
        acc_reg <= {ACC_W{1'b0}};
    end
end

// fold: the high part is < 2^(ACC_W-32) <= 2^32, so two folds reach 32 bits (the second adds at
// most a carry of 1 to a low word that is then small)
wire [32:0] fold1 = {1'b0, acc_reg[31:0]} + {{(65-ACC_W){1'b0}}, acc_reg[ACC_W-1:32]};
/* verilator lint_off UNUSEDSIGNAL */
wire [32:0] fold2 = {1'b0, fold1[31:0]} + {32'd0, fold1[32]};   // [32] is 0: see above
/* verilator lint_on UNUSEDSIGNAL */
assign sum = fold2[31:0];

endmodule

`resetall
