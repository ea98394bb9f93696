`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC egress queue: descriptors of one output stream in, frames out of the packet buffers.

/*
 * One per output stream (tx, host), so a stalled stream never holds up the other. Descriptors
 * (buffer, length, channel) queue in arrival order (at most one per buffer, so the queue never
 * overflows). A fetch stage reads the frames' bus words from the packet buffers one per cycle,
 * running from the last word of one frame straight into the first word of the next, into a
 * 4-word FIFO that feeds the stream: frames leave back to back with no idle cycle between them.
 * A buffer is given back (free) in the cycle its last word is read.
 *
 * A frame starts at byte `desc_off` of its buffer (behind the head margin; bpf_xdp_adjust_head
 * moves it), not necessarily at a bus-word boundary: the fetch reads from the word holding its
 * first byte to the word holding its last, and jitnic_realign after the FIFO shifts it into
 * place. A frame whose offset is word-aligned passes the realign stage without a cycle.
 */
module jitnic_egress #(
    // bus width in bits: 64, 128, 256 or 512
    parameter DATA_WIDTH = 64,
    // width of out_empty (derived, do not override)
    parameter EMPTY_WIDTH = $clog2(DATA_WIDTH / 8),
    // packet buffers; power of two >= 2
    parameter N_BUFS = 4,
    // buffer index width (derived, do not override)
    parameter BUF_W = $clog2(N_BUFS),
    // bus-word index width inside a buffer (derived, do not override)
    parameter WORD_W = 8,
    // sideband bits that travel with each frame (the host queue: channel and host metadata)
    parameter CHAN_W = 2
) (
    input  wire                   clk,
    input  wire                   rst,

    // a frame to send (buffer, length in bytes >= 1, host channel)
    input  wire                   desc_push,
    input  wire [BUF_W-1:0]       desc_buf,
    input  wire [15:0]            desc_len,
    input  wire [15:0]            desc_off,       // byte of the buffer where the frame starts
    input  wire [CHAN_W-1:0]      desc_chan,

    // packet buffer read port: data one cycle after rd_en
    output wire                   rd_en,
    output wire [BUF_W-1:0]       rd_buf,
    output wire [WORD_W-1:0]      rd_word,
    input  wire [DATA_WIDTH-1:0]  rd_data,

    // the buffer whose last word was read (pulse)
    output wire                   free,
    output wire [BUF_W-1:0]       free_buf,

    // the stream (first byte in the high bits)
    output wire [DATA_WIDTH-1:0]  out_data,
    output wire                   out_valid,
    input  wire                   out_ready,
    output wire                   out_startofpacket,
    output wire                   out_endofpacket,
    output wire [EMPTY_WIDTH-1:0] out_empty,
    output wire [CHAN_W-1:0]      out_channel
);

localparam BPB = DATA_WIDTH / 8;
localparam BPB_LOG = $clog2(BPB);
localparam OUT_DEPTH = 4;
localparam PW = DATA_WIDTH + 2 + 2 * EMPTY_WIDTH + CHAN_W;   // data, sop, eop, shift, empty, channel

// ---- descriptor queue ------------------------------------------------------------------------------
wire               head_valid;
wire [BUF_W-1:0]   head_buf;
wire [15:0]        head_len;
wire [15:0]        head_off;
wire [CHAN_W-1:0]  head_chan;
reg                head_pop_c;

/* verilator lint_off PINCONNECTEMPTY */
jitnic_fifo #(.WIDTH(BUF_W + 32 + CHAN_W), .DEPTH(N_BUFS)) u_desc (
    .clk(clk), .rst(rst),
    .in_push(desc_push), .in_data({desc_buf, desc_len, desc_off, desc_chan}),
    .out_valid(head_valid), .out_data({head_buf, head_len, head_off, head_chan}), .out_pop(head_pop_c),
    .full()
);
/* verilator lint_on PINCONNECTEMPTY */

// ---- fetch -------------------------------------------------------------------------------------
reg  [16:0]            word_reg, word_next;      // next word of the head frame (after its first)
reg                    mid_reg, mid_next;        // the head frame's first word has been read
reg                    inflight_reg;             // a word arrives from the buffers this cycle
reg                    meta_sop_reg, meta_eop_reg;
reg  [EMPTY_WIDTH-1:0] meta_shift_reg, meta_empty_reg;
reg  [CHAN_W-1:0]      meta_chan_reg;
reg  [2:0]             occ_reg;                  // words in the output FIFO
reg                    fetch_c;

localparam BPB_M1_I = BPB - 1;
localparam [16:0] BPB_M1 = BPB_M1_I[16:0];
wire [16:0] nwords = ({1'b0, head_len} + BPB_M1) >> BPB_LOG;
/* verilator lint_off UNUSEDSIGNAL */
wire [16:0] pad = (nwords << BPB_LOG) - {1'b0, head_len};   // empty bytes of the last beat
wire [16:0] first_word = {1'b0, head_off} >> BPB_LOG;
wire [16:0] last_byte = {1'b0, head_off} + {1'b0, head_len} - 17'd1;
/* verilator lint_on UNUSEDSIGNAL */
wire [16:0] cur_word = mid_reg ? word_reg : first_word;
wire        last_word = cur_word == last_byte >> BPB_LOG;
wire        pop_fifo;                            // the realign stage takes a word

always @* begin
    word_next = word_reg;
    mid_next = mid_reg;
    head_pop_c = 1'b0;
    fetch_c = head_valid && {1'b0, occ_reg} + {3'd0, inflight_reg} < OUT_DEPTH;
    if (fetch_c) begin
        word_next = cur_word + 17'd1;
        mid_next = !last_word;
        head_pop_c = last_word;
    end
end

always @(posedge clk) begin
    word_reg <= word_next;
    mid_reg <= mid_next;
    inflight_reg <= fetch_c;
    if (fetch_c) begin
        meta_sop_reg <= !mid_reg;
        meta_eop_reg <= last_word;
        meta_shift_reg <= head_off[EMPTY_WIDTH-1:0];
        meta_empty_reg <= last_word ? pad[EMPTY_WIDTH-1:0] : {EMPTY_WIDTH{1'b0}};
        meta_chan_reg <= head_chan;
    end
    occ_reg <= occ_reg + {2'd0, inflight_reg} - {2'd0, pop_fifo};
    if (rst) begin
        word_reg <= 17'd0;
        mid_reg <= 1'b0;
        inflight_reg <= 1'b0;
        occ_reg <= 3'd0;
    end
end

initial begin
    meta_sop_reg = 1'b0;
    meta_eop_reg = 1'b0;
    meta_shift_reg = {EMPTY_WIDTH{1'b0}};
    meta_empty_reg = {EMPTY_WIDTH{1'b0}};
    meta_chan_reg = {CHAN_W{1'b0}};
end

assign rd_en = fetch_c;
assign rd_buf = head_buf;
assign rd_word = cur_word[WORD_W-1:0];
assign free = fetch_c && last_word;
assign free_buf = head_buf;

// ---- output FIFO -----------------------------------------------------------------------------------
reg [DATA_WIDTH-1:0] word_be;                    // the word with its first byte in the high bits
integer b;
always @* begin
    for (b = 0; b < BPB; b = b + 1) begin
        word_be[DATA_WIDTH-1-8*b -: 8] = rd_data[8*b +: 8];
    end
end

wire [PW-1:0]          fifo_payload;
wire                   fifo_valid;
wire [DATA_WIDTH-1:0]  fifo_data;
wire                   fifo_sop, fifo_eop;
wire [EMPTY_WIDTH-1:0] fifo_shift, fifo_empty;
wire [CHAN_W-1:0]      fifo_chan;
wire                   realign_ready;

/* verilator lint_off PINCONNECTEMPTY */
jitnic_fifo #(.WIDTH(PW), .DEPTH(OUT_DEPTH)) u_out (
    .clk(clk), .rst(rst),
    .in_push(inflight_reg),
    .in_data({word_be, meta_sop_reg, meta_eop_reg, meta_shift_reg, meta_empty_reg, meta_chan_reg}),
    .out_valid(fifo_valid), .out_data(fifo_payload), .out_pop(realign_ready),
    .full()
);
/* verilator lint_on PINCONNECTEMPTY */

assign {fifo_data, fifo_sop, fifo_eop, fifo_shift, fifo_empty, fifo_chan} = fifo_payload;
assign pop_fifo = fifo_valid && realign_ready;

// ---- realign (frames not starting at a word boundary) --------------------------------------------
jitnic_realign #(.DATA_WIDTH(DATA_WIDTH), .CHAN_W(CHAN_W)) u_realign (
    .clk(clk), .rst(rst),
    .in_data(fifo_data), .in_valid(fifo_valid), .in_ready(realign_ready),
    .in_startofpacket(fifo_sop), .in_endofpacket(fifo_eop), .in_shift(fifo_shift),
    .in_empty(fifo_empty), .in_channel(fifo_chan),
    .out_data(out_data), .out_valid(out_valid), .out_ready(out_ready),
    .out_startofpacket(out_startofpacket), .out_endofpacket(out_endofpacket),
    .out_empty(out_empty), .out_channel(out_channel)
);

endmodule

`resetall
