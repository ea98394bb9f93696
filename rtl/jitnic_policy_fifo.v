`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC replacement policy FIFO: a round-robin pointer that advances on evicting fills.

module jitnic_policy_fifo #(
    // trace-cache entries; power of two, 1..64
    parameter N_ENTRIES = 16,
    // entry index width (derived, do not override)
    parameter IDX_W = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 1
) (
    input  wire             clk,
    input  wire             rst,

    // a frame hit entry touch_index (no effect on FIFO)
    input  wire             touch_valid,
    input  wire [IDX_W-1:0] touch_index,
    // a commit installed entry fill_index; fill_evict: no entry was invalid
    input  wire             fill_valid,
    input  wire [IDX_W-1:0] fill_index,
    input  wire             fill_evict,
    // CTRL.INVALIDATE_ALL: pointer back to 0
    input  wire             invalidate_all,
    // CTRL.RESEED (no effect on FIFO)
    input  wire             seed_valid,
    input  wire [31:0]      seed,

    // victim among all-valid entries
    output wire [IDX_W-1:0] victim
);

reg [IDX_W-1:0] ptr_reg, ptr_next;

always @* begin
    ptr_next = ptr_reg;
    if (invalidate_all) begin
        ptr_next = {IDX_W{1'b0}};
    end else if (fill_valid && fill_evict && N_ENTRIES > 1) begin
        ptr_next = ptr_reg + 1'b1;   // N_ENTRIES is a power of two: wraps mod N
    end
end

always @(posedge clk) begin
    ptr_reg <= ptr_next;
    if (rst) begin
        ptr_reg <= {IDX_W{1'b0}};
    end
end

assign victim = ptr_reg;

/* verilator lint_off UNUSEDSIGNAL */
wire unused_inputs = touch_valid ^ (^touch_index) ^ (^fill_index) ^ seed_valid ^ (^seed);
/* verilator lint_on UNUSEDSIGNAL */

initial begin
    if (N_ENTRIES < 1 || N_ENTRIES > 64 || (N_ENTRIES & (N_ENTRIES - 1)) != 0) begin
        $display("Error: N_ENTRIES must be a power of two in 1..64, got %0d (instance %m)", N_ENTRIES);
        $finish;
    end
end

endmodule

`resetall
