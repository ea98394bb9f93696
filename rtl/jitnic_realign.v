`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC realign stage: a frame that starts at any byte of its first bus word leaves aligned.

/*
 * Egress reads a frame's bus words from the packet buffer starting with the word that holds its
 * first byte; after bpf_xdp_adjust_head that byte need not be byte 0 of the word. This stage
 * shifts the frame so that its first byte is the high byte of the first beat (the stream's byte
 * order: first byte in the high bits), joining the tail of each word with the head of the next
 * (a funnel shifter over two words).
 *
 * Input words carry the frame's `in_shift` (bytes to skip in its first word, with
 * in_startofpacket) and the *output* frame's `in_empty` (empty bytes of its last beat, with
 * in_endofpacket: it follows from the length alone). A frame with shift 0 passes through
 * combinationally, beat for beat, so unadjusted frames keep their cycles. A shifted frame holds
 * its first word for one cycle (the absorb cycle, which overlaps the previous shifted frame's
 * last beat), then emits one beat per input word; when the frame's bytes in its last word fit in
 * the last output beat's tail a final beat comes from the held word alone. So a shifted frame
 * costs at most one cycle more than an aligned one.
 */
module jitnic_realign #(
    // bus width in bits: 64, 128, 256 or 512
    parameter DATA_WIDTH = 64,
    // width of empty and shift (derived, do not override)
    parameter EMPTY_WIDTH = $clog2(DATA_WIDTH / 8),
    // sideband bits that travel with the frame (constant over it)
    parameter CHAN_W = 2
) (
    input  wire                   clk,
    input  wire                   rst,

    // words as read from the buffer (first byte in the high bits)
    input  wire [DATA_WIDTH-1:0]  in_data,
    input  wire                   in_valid,
    output reg                    in_ready,
    input  wire                   in_startofpacket,
    input  wire                   in_endofpacket,
    input  wire [EMPTY_WIDTH-1:0] in_shift,      // with in_startofpacket
    input  wire [EMPTY_WIDTH-1:0] in_empty,      // with in_endofpacket: the output frame's
    input  wire [CHAN_W-1:0]      in_channel,

    // the aligned frame
    output reg  [DATA_WIDTH-1:0]  out_data,
    output reg                    out_valid,
    input  wire                   out_ready,
    output reg                    out_startofpacket,
    output reg                    out_endofpacket,
    output reg  [EMPTY_WIDTH-1:0] out_empty,
    output reg  [CHAN_W-1:0]      out_channel
);

reg [DATA_WIDTH-1:0]  hold_reg, hold_next;       // the previous word of a shifted frame
reg                   hold_valid_reg, hold_valid_next;
reg                   flush_reg, flush_next;     // hold is the frame's last word: one beat left
reg                   first_reg, first_next;     // the next beat is the frame's first
reg [EMPTY_WIDTH-1:0] shift_reg, shift_next;
reg [EMPTY_WIDTH-1:0] empty_reg, empty_next;
reg [CHAN_W-1:0]      chan_reg, chan_next;

// bytes [s, s + BPB) of the two words {a, b} (a first)
function [DATA_WIDTH-1:0] funnel(input [DATA_WIDTH-1:0] a, input [DATA_WIDTH-1:0] b,
                                 input [EMPTY_WIDTH-1:0] s);
    /* verilator lint_off UNUSEDSIGNAL */
    reg [2*DATA_WIDTH-1:0] cat;       // the low half is shifted out
    /* verilator lint_on UNUSEDSIGNAL */
    begin
        cat = {a, b} << {s, 3'b000};
        funnel = cat[2*DATA_WIDTH-1:DATA_WIDTH];
    end
endfunction

wire starts_shifted = in_startofpacket && in_shift != {EMPTY_WIDTH{1'b0}};
// the word in flight ends a shifted frame and its beat is the last (the frame's bytes in this
// word do not all fit in the beat's tail: shift > empty)
wire ends_now = in_endofpacket && shift_reg > in_empty;

always @* begin
    in_ready = 1'b0;
    out_valid = 1'b0;
    out_data = in_data;
    out_startofpacket = in_startofpacket;
    out_endofpacket = in_endofpacket;
    out_empty = in_empty;
    out_channel = in_channel;
    hold_next = hold_reg;
    hold_valid_next = hold_valid_reg;
    flush_next = flush_reg;
    first_next = first_reg;
    shift_next = shift_reg;
    empty_next = empty_reg;
    chan_next = chan_reg;

    if (flush_reg) begin
        // the last beat, from the held word alone; the next shifted frame's first word may be
        // taken in the same cycle
        out_valid = 1'b1;
        out_data = funnel(hold_reg, {DATA_WIDTH{1'b0}}, shift_reg);
        out_startofpacket = first_reg;
        out_endofpacket = 1'b1;
        out_empty = empty_reg;
        out_channel = chan_reg;
        if (out_ready) begin
            flush_next = 1'b0;
            hold_valid_next = 1'b0;
            in_ready = starts_shifted;
        end
    end else if (hold_valid_reg) begin
        // inside a shifted frame: tail of the held word, head of this one
        out_valid = in_valid;
        out_data = funnel(hold_reg, in_data, shift_reg);
        out_startofpacket = first_reg;
        out_endofpacket = ends_now;
        out_channel = chan_reg;
        in_ready = out_ready;
    end else begin
        // between frames or inside an aligned one: a shifted frame's first word is held, anything
        // else passes through
        in_ready = starts_shifted ? 1'b1 : out_ready;
        out_valid = in_valid && !starts_shifted;
    end

    // what the accepted word leaves behind
    if (in_valid && in_ready) begin
        if (starts_shifted) begin
            hold_next = in_data;
            hold_valid_next = 1'b1;
            first_next = 1'b1;
            shift_next = in_shift;
            chan_next = in_channel;
            flush_next = in_endofpacket;       // a one-word shifted frame: its beat comes next
            empty_next = in_empty;
        end else if (hold_valid_reg) begin
            hold_next = in_data;
            first_next = 1'b0;
            if (in_endofpacket) begin
                hold_valid_next = !ends_now;
                flush_next = !ends_now;
                empty_next = in_empty;
            end
        end
    end
end

always @(posedge clk) begin
    hold_reg <= hold_next;
    hold_valid_reg <= hold_valid_next;
    flush_reg <= flush_next;
    first_reg <= first_next;
    shift_reg <= shift_next;
    empty_reg <= empty_next;
    chan_reg <= chan_next;
    if (rst) begin
        hold_valid_reg <= 1'b0;
        flush_reg <= 1'b0;
    end
end

initial begin
    hold_reg = {DATA_WIDTH{1'b0}};
    hold_valid_reg = 1'b0;
    flush_reg = 1'b0;
    first_reg = 1'b0;
    shift_reg = {EMPTY_WIDTH{1'b0}};
    empty_reg = {EMPTY_WIDTH{1'b0}};
    chan_reg = {CHAN_W{1'b0}};
    if (DATA_WIDTH != 64 && DATA_WIDTH != 128 && DATA_WIDTH != 256 && DATA_WIDTH != 512) begin
        $display("Error: DATA_WIDTH must be 64, 128, 256 or 512, got %0d (instance %m)", DATA_WIDTH);
        $finish;
    end
end

endmodule

`resetall
