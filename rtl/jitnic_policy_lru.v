`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC replacement policy LRU: one age counter per entry, victim = oldest (jit/policies.py LRU).

module jitnic_policy_lru #(
    // trace-cache entries; power of two, 1..64
    parameter N_ENTRIES = 16,
    // entry index width (derived, do not override)
    parameter IDX_W = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 1
) (
    input  wire             clk,
    input  wire             rst,

    // a frame hit entry touch_index
    input  wire             touch_valid,
    input  wire [IDX_W-1:0] touch_index,
    // a commit installed entry fill_index; fill_evict: no entry was invalid
    input  wire             fill_valid,
    input  wire [IDX_W-1:0] fill_index,
    input  wire             fill_evict,
    // CTRL.INVALIDATE_ALL (no effect on LRU)
    input  wire             invalidate_all,
    // CTRL.RESEED (no effect on LRU)
    input  wire             seed_valid,
    input  wire [31:0]      seed,

    // victim among all-valid entries
    output wire [IDX_W-1:0] victim
);

// Ages form a permutation of 0..N-1: 0 = most recent, N-1 = least recent. Reset order is index
// order (entry 0 least recent), i.e. age[i] = N-1-i, as in the model.
reg [N_ENTRIES*IDX_W-1:0] age_reg, age_next;
reg [IDX_W-1:0] use_index;
reg [IDX_W-1:0] use_age;

integer i;

always @* begin
    age_next = age_reg;
    use_index = fill_valid ? fill_index : touch_index;
    use_age = age_reg[use_index*IDX_W +: IDX_W];
    if (fill_valid || touch_valid) begin
        for (i = 0; i < N_ENTRIES; i = i + 1) begin
            if (i[IDX_W-1:0] == use_index) begin
                age_next[i*IDX_W +: IDX_W] = {IDX_W{1'b0}};
            end else if (age_reg[i*IDX_W +: IDX_W] < use_age) begin
                age_next[i*IDX_W +: IDX_W] = age_reg[i*IDX_W +: IDX_W] + 1'b1;
            end
        end
    end
end

// the entry of age N-1; a function, so the output changes once per update (a loop in an always
// block would glitch it, and a simulator may ping-pong such glitches between modules)
function [IDX_W-1:0] oldest;
    input [N_ENTRIES*IDX_W-1:0] ages;
    integer n;
    begin
        oldest = {IDX_W{1'b0}};
        for (n = 0; n < N_ENTRIES; n = n + 1) begin
            if (ages[n*IDX_W +: IDX_W] == N_ENTRIES[IDX_W-1:0] - 1'b1) begin
                oldest = n[IDX_W-1:0];
            end
        end
    end
endfunction

always @(posedge clk) begin
    age_reg <= age_next;
    if (rst) begin
        for (i = 0; i < N_ENTRIES; i = i + 1) begin
            age_reg[i*IDX_W +: IDX_W] <= N_ENTRIES[IDX_W-1:0] - 1'b1 - i[IDX_W-1:0];
        end
    end
end

assign victim = oldest(age_reg);

/* verilator lint_off UNUSEDSIGNAL */
wire unused_inputs = fill_evict ^ invalidate_all ^ seed_valid ^ (^seed);
/* verilator lint_on UNUSEDSIGNAL */

initial begin
    if (N_ENTRIES < 1 || N_ENTRIES > 64 || (N_ENTRIES & (N_ENTRIES - 1)) != 0) begin
        $display("Error: N_ENTRIES must be a power of two in 1..64, got %0d (instance %m)", N_ENTRIES);
        $finish;
    end
end

endmodule

`resetall
