`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC replacement policy RANDOM: 32-bit Galois LFSR, stepped once per evicting fill.

`include "jitnic_abi.vh"

module jitnic_policy_random #(
    // trace-cache entries; power of two, 1..64
    parameter N_ENTRIES = 16,
    // entry index width (derived, do not override)
    parameter IDX_W = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 1
) (
    input  wire             clk,
    input  wire             rst,

    // a frame hit entry touch_index (no effect on RANDOM)
    input  wire             touch_valid,
    input  wire [IDX_W-1:0] touch_index,
    // a commit installed entry fill_index; fill_evict: no entry was invalid (steps the LFSR)
    input  wire             fill_valid,
    input  wire [IDX_W-1:0] fill_index,
    input  wire             fill_evict,
    // CTRL.INVALIDATE_ALL (no effect on RANDOM)
    input  wire             invalidate_all,
    // CTRL.RESEED: load seed (0 loads the default seed); wins over a fill in the same cycle
    input  wire             seed_valid,
    input  wire [31:0]      seed,

    // victim among all-valid entries: low log2(N) bits of the LFSR
    output wire [IDX_W-1:0] victim
);

reg [31:0] lfsr_reg, lfsr_next;

always @* begin
    lfsr_next = lfsr_reg;
    if (seed_valid) begin
        lfsr_next = seed != 32'd0 ? seed : `LFSR_DEFAULT_SEED;
    end else if (fill_valid && fill_evict) begin
        // Galois step: shift right, xor the taps when the dropped bit was 1
        lfsr_next = (lfsr_reg >> 1) ^ (lfsr_reg[0] ? `LFSR_TAPS : 32'd0);
    end
end

always @(posedge clk) begin
    lfsr_reg <= lfsr_next;
    if (rst) begin
        lfsr_reg <= `LFSR_DEFAULT_SEED;
    end
end

generate
    if (N_ENTRIES > 1) begin : g_victim
        assign victim = lfsr_reg[IDX_W-1:0];
    end else begin : g_victim_one
        assign victim = 1'b0;
    end
endgenerate

/* verilator lint_off UNUSEDSIGNAL */
wire unused_inputs = touch_valid ^ (^touch_index) ^ (^fill_index) ^ invalidate_all;
/* verilator lint_on UNUSEDSIGNAL */

initial begin
    if (N_ENTRIES < 1 || N_ENTRIES > 64 || (N_ENTRIES & (N_ENTRIES - 1)) != 0) begin
        $display("Error: N_ENTRIES must be a power of two in 1..64, got %0d (instance %m)", N_ENTRIES);
        $finish;
    end
end

endmodule

`resetall
