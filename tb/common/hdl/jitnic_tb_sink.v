`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC bench: an Avalon-ST sink that collects whole frames for the Python bench, with back-pressure.

/*
 * Beats are written into a ring of slots (`slot_data`, first byte in the top bits); a slot is
 * closed as a chunk at the end of a frame or when full, with a descriptor (`slot_desc`: length in
 * bytes [15:0], start of packet on its first beat [16], end of packet [17], channel [31:24]), and
 * `wr_ptr` advances; `slot_meta` keeps the 64-bit sideband (`s_meta`: the host stream's REDIRECT
 * metadata word) of the chunk's last beat. `events` counts closed end-of-packet chunks and chunks that fill the ring,
 * one cycle after the chunk was written: the bench sleeps on its change, so Python wakes once per
 * frame, reads every closed chunk and advances `rd_ptr`. A full ring drops ready (back-pressure,
 * never a loss).
 *
 * Back-pressure: ready is low for stretches of 1..4 cycles, each stretch low with probability
 * `bp_thr` / 65536 (xorshift32 seeded from `seed` at reset; 0 = always ready, 65536 is not
 * representable: use `stop` to hold ready low). `stall_cycles` counts cycles valid was high and
 * ready low; `sop_errors` beats that broke framing (a first beat without start of packet, or a
 * start of packet inside a frame).
 */
module jitnic_tb_sink #(
    parameter DATA_WIDTH = 64,
    parameter EMPTY_WIDTH = $clog2(DATA_WIDTH / 8),
    parameter CHANNEL_WIDTH = 1,
    // bytes per ring slot; a multiple of DATA_WIDTH/8
    parameter SLOT_BYTES = 256,
    // log2 of the slots in the ring, 1..15
    parameter RING_LOG2 = 5
) (
    input  wire                     clk,
    input  wire                     rst,

    input  wire [DATA_WIDTH-1:0]    s_data,
    input  wire                     s_valid,
    output wire                     s_ready,
    input  wire                     s_startofpacket,
    input  wire                     s_endofpacket,
    input  wire [EMPTY_WIDTH-1:0]   s_empty,
    input  wire [CHANNEL_WIDTH-1:0] s_channel,
    input  wire [63:0]              s_meta
);

localparam BPB = DATA_WIDTH / 8;
localparam SLOT_BITS = SLOT_BYTES * 8;
localparam SLOT_BEATS = SLOT_BYTES / BPB;
localparam DEPTH = 1 << RING_LOG2;
localparam BEAT_W = $clog2(SLOT_BEATS + 1);

initial begin
    if (SLOT_BYTES % BPB != 0 || SLOT_BYTES < BPB || SLOT_BYTES > 32768) begin
        $display("Error: %m: SLOT_BYTES %0d must be a multiple of DATA_WIDTH/8 (%0d), at most 32768",
                 SLOT_BYTES, BPB);
        $finish;
    end
    if (RING_LOG2 < 1 || RING_LOG2 > 15 || CHANNEL_WIDTH < 1 || CHANNEL_WIDTH > 8) begin
        $display("Error: %m: RING_LOG2 %0d out of 1..15 or CHANNEL_WIDTH %0d out of 1..8",
                 RING_LOG2, CHANNEL_WIDTH);
        $finish;
    end
end

// ---- written by the bench only (through VPI) ---------------------------------------------------
reg [31:0] rd_ptr;
reg [15:0] bp_thr;
reg [31:0] seed;
reg        stop;

initial begin
    rd_ptr = 32'd0;
    bp_thr = 16'd0;
    seed = 32'd1;
    stop = 1'b0;
end

// ---- read by the bench ---------------------------------------------------------------------------
reg [SLOT_BITS-1:0] slot_data [0:DEPTH-1];
reg [31:0]          slot_desc [0:DEPTH-1];
reg [63:0]          slot_meta [0:DEPTH-1];
reg [31:0]          wr_ptr;
reg [31:0]          events;
reg [31:0]          frames;
reg [31:0]          stall_cycles;
reg [31:0]          sop_errors;

integer i;
initial begin
    for (i = 0; i < DEPTH; i = i + 1) begin
        slot_data[i] = {SLOT_BITS{1'b0}};
        slot_desc[i] = 32'd0;
        slot_meta[i] = 64'd0;
    end
end

reg                ready_reg;
reg [BEAT_W-1:0]   beat_reg;          // beats in the open chunk
reg                chunk_sop_reg;     // its first beat had start of packet
reg                in_frame_reg;
reg                event_reg;         // a chunk worth waking the bench for was closed last cycle
reg                bp_reg;            // the back-pressure pattern's last choice
reg [1:0]          stretch_reg;
reg [31:0]         rng_reg;

assign s_ready = ready_reg;

wire                 take = s_valid && ready_reg;
wire [RING_LOG2-1:0] tail = wr_ptr[RING_LOG2-1:0];
wire                 chunk_full = beat_reg + 1'b1 == SLOT_BEATS[BEAT_W-1:0] || SLOT_BEATS == 1;
wire                 close = take && (s_endofpacket || chunk_full);
wire [31:0]          wr_next = wr_ptr + {31'd0, close};
wire [31:0]          level_next = wr_next - rd_ptr;
wire [15:0]          beat16 = {{(16 - BEAT_W){1'b0}}, beat_reg};
wire [15:0]          empty16 = {{(16 - EMPTY_WIDTH){1'b0}}, s_empty};
wire [15:0]          close_len = beat16 * BPB[15:0] + BPB[15:0] - (s_endofpacket ? empty16 : 16'd0);
wire                 first = beat_reg == {BEAT_W{1'b0}};

function [31:0] xorshift(input [31:0] x);
    reg [31:0] y;
    begin
        y = x ^ (x << 13);
        y = y ^ (y >> 17);
        xorshift = y ^ (y << 5);
    end
endfunction

wire want = stretch_reg == 2'd0 ? rng_reg[15:0] >= bp_thr : bp_reg;

always @(posedge clk) begin
    rng_reg <= xorshift(rng_reg);
    stretch_reg <= stretch_reg == 2'd0 ? rng_reg[17:16] : stretch_reg - 2'd1;
    bp_reg <= want;
    ready_reg <= want && !stop && level_next < DEPTH;
    event_reg <= close && (s_endofpacket || level_next == DEPTH);
    if (event_reg)
        events <= events + 32'd1;
    if (s_valid && !ready_reg)
        stall_cycles <= stall_cycles + 32'd1;
    if (take) begin
        slot_data[tail][(SLOT_BITS - DATA_WIDTH) - beat_reg * DATA_WIDTH +: DATA_WIDTH] <= s_data;
        if (first)
            chunk_sop_reg <= s_startofpacket;
        if ((!in_frame_reg && !s_startofpacket) || (in_frame_reg && s_startofpacket))
            sop_errors <= sop_errors + 32'd1;
        in_frame_reg <= !s_endofpacket;
        if (close) begin
            slot_desc[tail] <= {{(8 - CHANNEL_WIDTH){1'b0}}, s_channel, 6'd0, s_endofpacket,
                                first ? s_startofpacket : chunk_sop_reg, close_len};
            slot_meta[tail] <= s_meta;
            wr_ptr <= wr_next;
            beat_reg <= {BEAT_W{1'b0}};
            if (s_endofpacket)
                frames <= frames + 32'd1;
        end else begin
            beat_reg <= beat_reg + {{(BEAT_W - 1){1'b0}}, 1'b1};
        end
    end
    if (rst) begin
        rng_reg <= seed == 32'd0 ? 32'h9E37_79B9 : seed;
        stretch_reg <= 2'd0;
        bp_reg <= 1'b1;
        ready_reg <= 1'b0;
        event_reg <= 1'b0;
        beat_reg <= {BEAT_W{1'b0}};
        chunk_sop_reg <= 1'b0;
        in_frame_reg <= 1'b0;
        wr_ptr <= 32'd0;
        events <= 32'd0;
        frames <= 32'd0;
        stall_cycles <= 32'd0;
        sop_errors <= 32'd0;
    end
end

endmodule

`resetall
