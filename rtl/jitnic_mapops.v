`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC map-op buffer: a trace's map_update_elem / map_delete_elem calls, held until `exit` commits them.

`include "jitnic_abi.vh"

/*
 * The executor decides each call's r0 at the call (docs/exec.md "Map updates and deletes") and
 * pushes the effect of a successful one here; `exit` drains the entries in call order after the
 * write buffer (jitnic_wbuf), a guard failure or fault clears them. An entry is one of
 *   KIND_WRITE  the value goes to the element at `addr` (an array element, or a hash element that
 *               existed at the call: the NIC slot's byte address from LOOKUP)
 *   KIND_INSERT the key is inserted into hash map `map` (INSERT on the map port), then the value is
 *               written at the address INSERT answers
 *   KIND_DELETE the key is deleted from hash map `map` (DELETE on the map port)
 * The value's words come out one at a time for the drain's WRITEs: dr_word selects the word of
 * the head entry, dr_wdata/dr_wbe are its data and byte enables (the last word only the value's
 * bytes), dr_words how many there are.
 *
 * Timing: everything is combinational on the registered state; a push and a pop in one cycle are
 * a caller's error (the executor pushes while running and pops while draining). `clear` wins.
 */
module jitnic_mapops #(
    // entries (maps a trace may update or delete in); >= 1
    parameter ENTRIES = `JITNIC_MAPOP_ENTRIES,
    // key bytes (the map port's key width)
    parameter KEY_BYTES = `JITNIC_MAP_MAX_KEY_BYTES,
    // value bytes an update copies: multiple of 8, 8..248
    parameter VAL_BYTES = `JITNIC_MAPOP_VALUE_BYTES,
    // derived, do not override
    parameter IDX_W = ENTRIES > 1 ? $clog2(ENTRIES) : 1,
    parameter CNT_W = $clog2(ENTRIES + 1),
    parameter VW_W = $clog2(VAL_BYTES / 8 + 1)
) (
    input  wire                   clk,
    input  wire                   rst,
    input  wire                   clear,

    // push (at the call)
    input  wire                   wr_valid,
    input  wire [1:0]             wr_kind,
    input  wire [7:0]             wr_map,
    input  wire [KEY_BYTES*8-1:0] wr_key,
    input  wire [31:0]            wr_addr,
    input  wire [7:0]             wr_nbytes,   // value bytes (<= VAL_BYTES); 0 for a delete
    input  wire [VAL_BYTES*8-1:0] wr_value,
    output wire                   full,

    // the head entry (at exit)
    output wire                   dr_valid,
    output wire [1:0]             dr_kind,
    output wire [7:0]             dr_map,
    output wire [KEY_BYTES*8-1:0] dr_key,
    output wire [31:0]            dr_addr,
    output wire [VW_W-1:0]        dr_words,
    input  wire [VW_W-1:0]        dr_word,
    output reg  [63:0]            dr_wdata,
    output reg  [7:0]             dr_wbe,
    input  wire                   pop,

    output wire [CNT_W-1:0]       count
);

reg [1:0]             kind_reg  [0:ENTRIES-1];
reg [7:0]             map_reg   [0:ENTRIES-1];
reg [KEY_BYTES*8-1:0] key_reg   [0:ENTRIES-1];
reg [31:0]            addr_reg  [0:ENTRIES-1];
reg [7:0]             nbytes_reg[0:ENTRIES-1];
reg [VAL_BYTES*8-1:0] value_reg [0:ENTRIES-1];

reg [CNT_W-1:0] count_reg;
reg [IDX_W-1:0] head_reg, tail_reg;

assign count = count_reg;
assign full = count_reg == ENTRIES[CNT_W-1:0];
assign dr_valid = count_reg != {CNT_W{1'b0}};
assign dr_kind = kind_reg[head_reg];
assign dr_map = map_reg[head_reg];
assign dr_key = key_reg[head_reg];
assign dr_addr = addr_reg[head_reg];

wire [7:0] nb = nbytes_reg[head_reg];
/* verilator lint_off UNUSEDSIGNAL */
wire [8:0] nwords = ({1'b0, nb} + 9'd7) >> 3;   // at most VAL_BYTES / 8: the high bits stay 0
/* verilator lint_on UNUSEDSIGNAL */
assign dr_words = nwords[VW_W-1:0];

// word dr_word of the value, and the bytes of it that lie inside the value
wire [VAL_BYTES*8-1:0] head_value = value_reg[head_reg];
integer w;
always @* begin
    dr_wdata = 64'd0;
    for (w = 0; w < VAL_BYTES / 8; w = w + 1) begin
        if ({{(32-VW_W){1'b0}}, dr_word} == w) begin
            dr_wdata = head_value[w*64 +: 64];
        end
    end
end
wire [31:0] word_base = {{(29-VW_W){1'b0}}, dr_word, 3'd0};
integer b;
always @* begin
    for (b = 0; b < 8; b = b + 1) begin
        dr_wbe[b] = word_base + b[31:0] < {24'd0, nb};
    end
end

localparam [31:0] LAST = ENTRIES - 1;
wire [IDX_W-1:0] tail_inc = {{(32-IDX_W){1'b0}}, tail_reg} == LAST ? {IDX_W{1'b0}} : tail_reg + 1'b1;
wire [IDX_W-1:0] head_inc = {{(32-IDX_W){1'b0}}, head_reg} == LAST ? {IDX_W{1'b0}} : head_reg + 1'b1;
wire do_push = wr_valid && !full;
wire do_pop = pop && dr_valid;

always @(posedge clk) begin
    if (do_push) begin
        kind_reg[tail_reg] <= wr_kind;
        map_reg[tail_reg] <= wr_map;
        key_reg[tail_reg] <= wr_key;
        addr_reg[tail_reg] <= wr_addr;
        nbytes_reg[tail_reg] <= wr_nbytes;
        value_reg[tail_reg] <= wr_value;
        tail_reg <= tail_inc;
    end
    if (do_pop) begin
        head_reg <= head_inc;
    end
    if (do_push && !do_pop) begin
        count_reg <= count_reg + 1'b1;
    end else if (do_pop && !do_push) begin
        count_reg <= count_reg - 1'b1;
    end
    if (rst || clear) begin
        count_reg <= {CNT_W{1'b0}};
        head_reg <= {IDX_W{1'b0}};
        tail_reg <= {IDX_W{1'b0}};
    end
end

integer k;
initial begin
    count_reg = {CNT_W{1'b0}};
    head_reg = {IDX_W{1'b0}};
    tail_reg = {IDX_W{1'b0}};
    for (k = 0; k < ENTRIES; k = k + 1) begin
        kind_reg[k] = 2'd0;
        map_reg[k] = 8'd0;
        key_reg[k] = {KEY_BYTES*8{1'b0}};
        addr_reg[k] = 32'd0;
        nbytes_reg[k] = 8'd0;
        value_reg[k] = {VAL_BYTES*8{1'b0}};
    end
    if (ENTRIES < 1 || VAL_BYTES < 8 || VAL_BYTES % 8 != 0 || VAL_BYTES > 248) begin
        $display("Error: need ENTRIES >= 1 and VAL_BYTES a multiple of 8 in 8..248, got %0d, %0d (instance %m)",
                 ENTRIES, VAL_BYTES);
        $finish;
    end
end

endmodule

`resetall
