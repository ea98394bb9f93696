`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC replacement policy selector: instantiates the policy named by POLICY (identical ports).

module jitnic_policy #(
    // replacement policy: "lru", "fifo", "random" or "plru"
    parameter [63:0] POLICY = "lru",
    // trace-cache entries; power of two, 1..64
    parameter N_ENTRIES = 16,
    // entry index width (derived, do not override)
    parameter IDX_W = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 1
) (
    input  wire             clk,
    input  wire             rst,

    input  wire             touch_valid,
    input  wire [IDX_W-1:0] touch_index,
    input  wire             fill_valid,
    input  wire [IDX_W-1:0] fill_index,
    input  wire             fill_evict,
    input  wire             invalidate_all,
    input  wire             seed_valid,
    input  wire [31:0]      seed,

    output wire [IDX_W-1:0] victim
);

localparam [63:0] P_LRU = "lru";
localparam [63:0] P_FIFO = "fifo";
localparam [63:0] P_RANDOM = "random";
localparam [63:0] P_PLRU = "plru";

generate
    if (POLICY == P_LRU) begin : g_lru
        jitnic_policy_lru #(.N_ENTRIES(N_ENTRIES), .IDX_W(IDX_W)) u_policy (
            .clk(clk), .rst(rst), .touch_valid(touch_valid), .touch_index(touch_index),
            .fill_valid(fill_valid), .fill_index(fill_index), .fill_evict(fill_evict),
            .invalidate_all(invalidate_all), .seed_valid(seed_valid), .seed(seed), .victim(victim)
        );
    end else if (POLICY == P_FIFO) begin : g_fifo
        jitnic_policy_fifo #(.N_ENTRIES(N_ENTRIES), .IDX_W(IDX_W)) u_policy (
            .clk(clk), .rst(rst), .touch_valid(touch_valid), .touch_index(touch_index),
            .fill_valid(fill_valid), .fill_index(fill_index), .fill_evict(fill_evict),
            .invalidate_all(invalidate_all), .seed_valid(seed_valid), .seed(seed), .victim(victim)
        );
    end else if (POLICY == P_RANDOM) begin : g_random
        jitnic_policy_random #(.N_ENTRIES(N_ENTRIES), .IDX_W(IDX_W)) u_policy (
            .clk(clk), .rst(rst), .touch_valid(touch_valid), .touch_index(touch_index),
            .fill_valid(fill_valid), .fill_index(fill_index), .fill_evict(fill_evict),
            .invalidate_all(invalidate_all), .seed_valid(seed_valid), .seed(seed), .victim(victim)
        );
    end else begin : g_plru
        // POLICY == "plru" (anything else is stopped by the check below)
        jitnic_policy_plru #(.N_ENTRIES(N_ENTRIES), .IDX_W(IDX_W)) u_policy (
            .clk(clk), .rst(rst), .touch_valid(touch_valid), .touch_index(touch_index),
            .fill_valid(fill_valid), .fill_index(fill_index), .fill_evict(fill_evict),
            .invalidate_all(invalidate_all), .seed_valid(seed_valid), .seed(seed), .victim(victim)
        );
    end
endgenerate

initial begin
    if (POLICY != P_LRU && POLICY != P_FIFO && POLICY != P_RANDOM && POLICY != P_PLRU) begin
        $display("Error: unknown POLICY \"%0s\"; use \"lru\", \"fifo\", \"random\" or \"plru\" (instance %m)", POLICY);
        $finish;
    end
end

endmodule

`resetall
