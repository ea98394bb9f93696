`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC write buffer: a trace's map stores, held until `exit` commits them (or a guard discards them).

`include "jitnic_abi.vh"

/*
 * Each entry is one 64-bit word of map memory, named by wr_key (the executor's choice, e.g.
 * {map id, word offset}), with the bytes written so far (data + byte enables). A write to a word
 * already buffered merges its bytes into that entry; a write to a new word takes the next free
 * entry, so entries stay in order of first write and the drain presents them oldest first.
 *
 * Timing: rd_be/rd_data and wr_full are combinational on the registered state, so a read in the
 * cycle of a write sees the buffer before that write. drain_done is high for one cycle, the cycle
 * after the last entry was taken (the cycle after `drain` when the buffer is empty); the buffer is
 * empty from the next cycle on. `clear` wins over everything (also ends a drain, with no
 * drain_done). Writes while a drain is in progress are a caller's error and are ignored.
 */
module jitnic_wbuf #(
    // entries (distinct 64-bit words a trace may store to); >= 1
    parameter ENTRIES = `JITNIC_WB_ENTRIES,
    // bits of a word's key; >= 1
    parameter KEY_W = 40,
    // entry index and count widths (derived, do not override)
    parameter IDX_W = ENTRIES > 1 ? $clog2(ENTRIES) : 1,
    parameter CNT_W = $clog2(ENTRIES + 1)
) (
    input  wire             clk,
    input  wire             rst,

    // discard every entry
    input  wire             clear,

    // buffered write (merge or new entry)
    input  wire             wr_valid,
    input  wire [KEY_W-1:0] wr_key,
    input  wire [63:0]      wr_data,
    input  wire [7:0]       wr_be,
    output wire             wr_full,

    // read-through: the buffered bytes of word rd_key (rd_be = 0: none); rd_hit: rd_key has an
    // entry, so a write to it would merge (wr_full for a write to rd_key is full && !rd_hit)
    input  wire [KEY_W-1:0] rd_key,
    output wire             rd_hit,
    output reg  [7:0]       rd_be,
    output reg  [63:0]      rd_data,

    // commit: the entries, oldest first
    input  wire             drain,
    output wire             dr_valid,
    input  wire             dr_ready,
    output wire [KEY_W-1:0] dr_key,
    output wire [63:0]      dr_data,
    output wire [7:0]       dr_be,
    output wire             drain_done,

    output wire [CNT_W-1:0] count
);

reg [KEY_W-1:0] key_reg  [0:ENTRIES-1];
reg [63:0]      data_reg [0:ENTRIES-1];
reg [7:0]       be_reg   [0:ENTRIES-1];

reg [CNT_W-1:0] count_reg;          // entries 0 .. count-1 are in use
reg             draining_reg;
reg [CNT_W-1:0] dr_ptr_reg;         // next entry the drain presents

// Which used entry holds wr_key / rd_key, one bit per entry (keys are unique among used entries,
// so at most one bit is set). The hit and the read-through are an OR over these bits, not an
// `if (key == ...)` loop: a loop is synthesized as a chain of ENTRIES multiplexers per bit, and
// wr_full (the executor's next state depends on it) would sit at the chain's end.
wire [ENTRIES-1:0]     wr_hit_vec;
wire [ENTRIES-1:0]     rd_hit_vec;
wire [ENTRIES*72-1:0]  rd_flat;      // {data, be} of every entry

// the index of a one-hot vector's set bit (0 when none is)
function [IDX_W-1:0] index_of(input [ENTRIES-1:0] onehot);
    integer e;
    begin
        index_of = {IDX_W{1'b0}};
        for (e = 0; e < ENTRIES; e = e + 1) begin
            index_of = index_of | (e[IDX_W-1:0] & {IDX_W{onehot[e]}});
        end
    end
endfunction

// the {data, be} of a one-hot select (zeros when no bit is set). The entries are an argument so
// that simulators see every input of the continuous assignment.
function [71:0] pick(input [ENTRIES-1:0] sel, input [ENTRIES*72-1:0] flat);
    integer e;
    begin
        pick = 72'd0;
        for (e = 0; e < ENTRIES; e = e + 1) begin
            pick = pick | (flat[72*e +: 72] & {72{sel[e]}});
        end
    end
endfunction

// a byte's data is kept only where its enable is set, so a read-through never shows stale bytes
function [63:0] merge(input [63:0] old, input [63:0] new_data, input [7:0] be);
    integer b;
    begin
        merge = old;
        for (b = 0; b < 8; b = b + 1) begin
            if (be[b]) begin
                merge[b*8 +: 8] = new_data[b*8 +: 8];
            end
        end
    end
endfunction

genvar g;
generate
for (g = 0; g < ENTRIES; g = g + 1) begin : g_entry
    wire used = g < count_reg;
    assign wr_hit_vec[g] = used && key_reg[g] == wr_key;
    assign rd_hit_vec[g] = used && key_reg[g] == rd_key;
    assign rd_flat[72*g +: 72] = {data_reg[g], be_reg[g]};
end
endgenerate

wire             wr_hit = |wr_hit_vec;
wire [IDX_W-1:0] wr_idx = index_of(wr_hit_vec);
wire [71:0]      rd_ent = pick(rd_hit_vec, rd_flat);
assign rd_hit = |rd_hit_vec;
always @* begin
    rd_be = rd_ent[7:0];
    rd_data = rd_ent[71:8];
end

wire full_now = count_reg == ENTRIES[CNT_W-1:0];
assign wr_full = wr_valid && !wr_hit && full_now;
wire do_write = wr_valid && !draining_reg && !clear && (wr_hit || !full_now);
wire [IDX_W-1:0] new_idx = count_reg[IDX_W-1:0];

wire [IDX_W-1:0] dr_idx = dr_ptr_reg[IDX_W-1:0];
assign dr_valid = draining_reg && dr_ptr_reg != count_reg;
assign dr_key = key_reg[dr_idx];
assign dr_data = data_reg[dr_idx];
assign dr_be = be_reg[dr_idx];
assign drain_done = draining_reg && dr_ptr_reg == count_reg;
assign count = count_reg;

always @(posedge clk) begin
    if (do_write) begin
        if (wr_hit) begin
            data_reg[wr_idx] <= merge(data_reg[wr_idx], wr_data, wr_be);
            be_reg[wr_idx] <= be_reg[wr_idx] | wr_be;
        end else begin
            key_reg[new_idx] <= wr_key;
            data_reg[new_idx] <= merge(64'd0, wr_data, wr_be);
            be_reg[new_idx] <= wr_be;
            count_reg <= count_reg + 1'b1;
        end
    end
    if (drain && !draining_reg) begin
        draining_reg <= 1'b1;
        dr_ptr_reg <= {CNT_W{1'b0}};
    end
    if (dr_valid && dr_ready) begin
        dr_ptr_reg <= dr_ptr_reg + 1'b1;
    end
    if (drain_done) begin
        draining_reg <= 1'b0;
        count_reg <= {CNT_W{1'b0}};
    end
    if (rst || clear) begin
        count_reg <= {CNT_W{1'b0}};
        draining_reg <= 1'b0;
        dr_ptr_reg <= {CNT_W{1'b0}};
    end
end

integer k;
initial begin
    for (k = 0; k < ENTRIES; k = k + 1) begin
        key_reg[k] = {KEY_W{1'b0}};
        data_reg[k] = 64'd0;
        be_reg[k] = 8'd0;
    end
    if (ENTRIES < 1 || KEY_W < 1) begin
        $display("Error: ENTRIES and KEY_W must be >= 1, got %0d, %0d (instance %m)", ENTRIES, KEY_W);
        $finish;
    end
end

endmodule

`resetall
