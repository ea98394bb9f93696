`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC replacement policy tree-PLRU: N-1 node bits, node 1 the root, children of k are 2k, 2k+1.

module jitnic_policy_plru #(
    // trace-cache entries; power of two, 1..64
    parameter N_ENTRIES = 16,
    // entry index width (derived, do not override)
    parameter IDX_W = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 1
) (
    input  wire             clk,
    input  wire             rst,

    // a frame hit entry touch_index: every node on its path points away from it
    input  wire             touch_valid,
    input  wire [IDX_W-1:0] touch_index,
    // a commit installed entry fill_index (same update as a touch; wins over a touch)
    input  wire             fill_valid,
    input  wire [IDX_W-1:0] fill_index,
    input  wire             fill_evict,
    // CTRL.INVALIDATE_ALL (no effect on PLRU)
    input  wire             invalidate_all,
    // CTRL.RESEED (no effect on PLRU)
    input  wire             seed_valid,
    input  wire [31:0]      seed,

    // victim among all-valid entries: follow the node bits from the root (0 = left)
    output wire [IDX_W-1:0] victim
);

// tree depth (0 for a single entry)
localparam LEVELS = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 0;

// node k at bit k, k = 1..N-1 (bit 0 unused; a single entry keeps one dummy bit)
reg [N_ENTRIES-1:0] node_reg, node_next;
reg [IDX_W-1:0] use_index;

integer l;
integer node;

always @* begin
    node_next = node_reg;
    use_index = fill_valid ? fill_index : touch_index;
    node = 1;
    if (fill_valid || touch_valid) begin
        for (l = 0; l < LEVELS; l = l + 1) begin
            // direction at level l is index bit LEVELS-1-l (1 = right); point the other way
            node_next[node] = ~use_index[LEVELS-1-l];
            node = 2 * node + (use_index[LEVELS-1-l] ? 1 : 0);
        end
    end
end

// follow the node bits from the root; a function, so the output changes once per update
function [IDX_W-1:0] walk;
    input [N_ENTRIES-1:0] nodes;
    integer lv;
    integer nd;
    begin
        walk = {IDX_W{1'b0}};
        nd = 1;
        for (lv = 0; lv < LEVELS; lv = lv + 1) begin
            walk[LEVELS-1-lv] = nodes[nd];
            nd = 2 * nd + (nodes[nd] ? 1 : 0);
        end
    end
endfunction

always @(posedge clk) begin
    node_reg <= node_next;
    if (rst) begin
        node_reg <= {N_ENTRIES{1'b0}};
    end
end

assign victim = walk(node_reg);

/* verilator lint_off UNUSEDSIGNAL */
wire unused_inputs = fill_evict ^ invalidate_all ^ seed_valid ^ (^seed) ^ node_reg[0];
/* verilator lint_on UNUSEDSIGNAL */

initial begin
    if (N_ENTRIES < 1 || N_ENTRIES > 64 || (N_ENTRIES & (N_ENTRIES - 1)) != 0) begin
        $display("Error: N_ENTRIES must be a power of two in 1..64, got %0d (instance %m)", N_ENTRIES);
        $finish;
    end
end

endmodule

`resetall
