`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC bench: an Avalon-ST source fed whole chunks of frames by the Python bench (no per-beat Python).

/*
 * The bench (tb/common/fast.py) writes a frame as one or a few chunks into a ring of slots, one VPI
 * write per chunk (`slot_data`, first byte in the top bits) plus a descriptor (`slot_desc`: length
 * in bytes [15:0], start of packet [16], end of packet [17], error on the last beat [18]), then
 * advances `wr_ptr`. This module streams the chunks' beats: a chunk's length is a multiple of the
 * beat except in an end-of-packet chunk, whose last beat carries `empty`. Beats move one per cycle
 * with random idle gaps (`idle_thr` / 65536 is the chance per beat that a gap of 1..3 cycles
 * starts; xorshift32 seeded from `seed` at reset).
 *
 * WIRE = 0: a plain source, a beat moves when valid and ready are high at a rising edge.
 * WIRE = 1: a MAC's wire: a beat moves every cycle valid is high, ready or not (the NIC never
 * back-pressures rx; `not_ready_beats` counts beats offered while ready was low). With
 * `honor_pause` a frame's first beat waits while `m_pause` is high (802.3x), else it goes anyway
 * and `paused_starts` counts it. Everything the bench writes is a plain register only it drives;
 * everything it reads (`rd_ptr`, counters, `below_half`, `idle`) is registered.
 */
module jitnic_tb_source #(
    // stream width in bits
    parameter DATA_WIDTH = 64,
    parameter EMPTY_WIDTH = $clog2(DATA_WIDTH / 8),
    // bytes per ring slot; a multiple of DATA_WIDTH/8
    parameter SLOT_BYTES = 256,
    // log2 of the slots in the ring, 2..15
    parameter RING_LOG2 = 5,
    // 1: rx wire (never waits for ready, pause and error); 0: Avalon-ST source
    parameter WIRE = 0
) (
    input  wire                   clk,
    input  wire                   rst,

    output wire [DATA_WIDTH-1:0]  m_data,
    output wire                   m_valid,
    input  wire                   m_ready,
    output wire                   m_startofpacket,
    output wire                   m_endofpacket,
    output wire [EMPTY_WIDTH-1:0] m_empty,
    output wire                   m_error,
    input  wire                   m_pause,
    output wire [63:0]            m_timestamp   // the frame's timestamp (`slot_ts`), with every beat
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
    if (RING_LOG2 < 2 || RING_LOG2 > 15) begin
        $display("Error: %m: RING_LOG2 %0d out of 2..15", RING_LOG2);
        $finish;
    end
end

// ---- written by the bench only (through VPI) ---------------------------------------------------
reg [SLOT_BITS-1:0] slot_data [0:DEPTH-1];
reg [31:0]          slot_desc [0:DEPTH-1];
reg [63:0]          slot_ts [0:DEPTH-1];       // the frame's timestamp (ns), read with its beats
reg [31:0]          wr_ptr;
reg [15:0]          idle_thr;
reg [31:0]          seed;
reg                 honor_pause;

integer i;
initial begin
    for (i = 0; i < DEPTH; i = i + 1) begin
        slot_data[i] = {SLOT_BITS{1'b0}};
        slot_desc[i] = 32'd0;
        slot_ts[i] = 64'd0;
    end
    wr_ptr = 32'd0;
    idle_thr = 16'd0;
    seed = 32'd1;
    honor_pause = 1'b1;
end

// ---- read by the bench ---------------------------------------------------------------------------
reg [31:0] rd_ptr;              // chunks taken out of the ring (their slots may be rewritten)
reg [31:0] frames_started;      // first beats moved
reg [31:0] paused_starts;       // ... of which while m_pause was high
reg [31:0] not_ready_beats;     // WIRE: beats moved while m_ready was low
reg [31:0] stall_cycles;        // cycles a beat was offered and did not move
reg [31:0] idle_gaps;           // idle gaps inserted
reg        below_half;          // at most half the ring in use
reg        idle;                // ring empty and no beat offered

// ---- the beat on offer -----------------------------------------------------------------------------
reg                   pres_reg;
reg [DATA_WIDTH-1:0]  data_reg;
reg                   sop_reg, eop_reg, err_reg;
reg [EMPTY_WIDTH-1:0] empty_reg;
reg [63:0]            ts_reg;
reg [BEAT_W-1:0]      beat_reg;       // next beat of the head chunk
reg [1:0]             gap_reg;
reg [31:0]            rng_reg;

wire hold = WIRE != 0 && honor_pause && sop_reg && m_pause;
assign m_valid = pres_reg && !hold;
assign m_data = data_reg;
assign m_startofpacket = sop_reg;
assign m_endofpacket = eop_reg;
assign m_empty = empty_reg;
assign m_error = err_reg;
assign m_timestamp = ts_reg;

wire moved = m_valid && (WIRE != 0 || m_ready);

wire [RING_LOG2-1:0]  head = rd_ptr[RING_LOG2-1:0];
wire [31:0]           level = wr_ptr - rd_ptr;
wire                  avail = level != 32'd0;
wire [31:0]           head_desc = slot_desc[head];
wire [15:0]           head_len = head_desc[15:0];
wire [15:0]           head_beats = (head_len + BPB[15:0] - 16'd1) / BPB[15:0];
wire [15:0]           beat16 = {{(16 - BEAT_W){1'b0}}, beat_reg};
wire                  head_last = beat16 + 16'd1 >= head_beats;
wire [15:0]           head_pad = head_beats * BPB[15:0] - head_len;

function [31:0] xorshift(input [31:0] x);
    reg [31:0] y;
    begin
        y = x ^ (x << 13);
        y = y ^ (y >> 17);
        xorshift = y ^ (y << 5);
    end
endfunction

always @(posedge clk) begin
    rng_reg <= xorshift(rng_reg);
    below_half <= level <= DEPTH / 2;
    idle <= !avail && !pres_reg;
    if (moved) begin
        pres_reg <= 1'b0;
        if (sop_reg) begin
            frames_started <= frames_started + 32'd1;
            if (m_pause)
                paused_starts <= paused_starts + 32'd1;
        end
        if (!m_ready)
            not_ready_beats <= not_ready_beats + 32'd1;
    end else if (pres_reg) begin
        stall_cycles <= stall_cycles + 32'd1;
    end
    if (moved || !pres_reg) begin
        if (gap_reg != 2'd0) begin
            gap_reg <= gap_reg - 2'd1;
        end else if (avail && rng_reg[15:0] < idle_thr) begin
            gap_reg <= rng_reg[17:16] == 2'd3 ? 2'd2 : rng_reg[17:16];
            idle_gaps <= idle_gaps + 32'd1;
        end else if (avail) begin
            pres_reg <= 1'b1;
            // indexed here, on the clock edge, not by a continuous assignment that the simulator
            // would re-evaluate at every write of the ring
            data_reg <= slot_data[head][(SLOT_BITS - DATA_WIDTH) - beat_reg * DATA_WIDTH +: DATA_WIDTH];
            sop_reg <= beat_reg == {BEAT_W{1'b0}} && head_desc[16];
            eop_reg <= head_last && head_desc[17];
            err_reg <= head_last && head_desc[17] && head_desc[18];
            ts_reg <= slot_ts[head];
            empty_reg <= head_last && head_desc[17] ? head_pad[EMPTY_WIDTH-1:0] : {EMPTY_WIDTH{1'b0}};
            if (head_last) begin
                beat_reg <= {BEAT_W{1'b0}};
                rd_ptr <= rd_ptr + 32'd1;
            end else begin
                beat_reg <= beat_reg + {{(BEAT_W - 1){1'b0}}, 1'b1};
            end
        end
    end
    if (rst) begin
        rng_reg <= seed == 32'd0 ? 32'h9E37_79B9 : seed;
        pres_reg <= 1'b0;
        sop_reg <= 1'b0;
        eop_reg <= 1'b0;
        err_reg <= 1'b0;
        ts_reg <= 64'd0;
        beat_reg <= {BEAT_W{1'b0}};
        gap_reg <= 2'd0;
        rd_ptr <= 32'd0;
        frames_started <= 32'd0;
        paused_starts <= 32'd0;
        not_ready_beats <= 32'd0;
        stall_cycles <= 32'd0;
        idle_gaps <= 32'd0;
        below_half <= 1'b1;
        idle <= 1'b1;
    end
end

endmodule

`resetall
