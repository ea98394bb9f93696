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
localparam PW = DATA_WIDTH + 2 + EMPTY_WIDTH + CHAN_W;   // data, sop, eop, empty, channel

// ---- descriptor queue ------------------------------------------------------------------------------
wire               head_valid;
wire [BUF_W-1:0]   head_buf;
wire [15:0]        head_len;
wire [CHAN_W-1:0]  head_chan;
reg                head_pop_c;

/* verilator lint_off PINCONNECTEMPTY */
jitnic_fifo #(.WIDTH(BUF_W + 16 + CHAN_W), .DEPTH(N_BUFS)) u_desc (
    .clk(clk), .rst(rst),
    .in_push(desc_push), .in_data({desc_buf, desc_len, desc_chan}),
    .out_valid(head_valid), .out_data({head_buf, head_len, head_chan}), .out_pop(head_pop_c),
    .full()
);
/* verilator lint_on PINCONNECTEMPTY */

// ---- fetch -------------------------------------------------------------------------------------
reg  [15:0]            word_reg, word_next;      // next word of the head frame
reg                    inflight_reg;             // a word arrives from the buffers this cycle
reg                    meta_sop_reg, meta_eop_reg;
reg  [EMPTY_WIDTH-1:0] meta_empty_reg;
reg  [CHAN_W-1:0]      meta_chan_reg;
reg  [2:0]             occ_reg;                  // words in the output FIFO
reg                    fetch_c;

localparam BPB_M1_I = BPB - 1;
localparam [16:0] BPB_M1 = BPB_M1_I[16:0];
wire [16:0] nwords = ({1'b0, head_len} + BPB_M1) >> BPB_LOG;
wire        last_word = {1'b0, word_reg} + 17'd1 == nwords;
/* verilator lint_off UNUSEDSIGNAL */
wire [16:0] pad = (nwords << BPB_LOG) - {1'b0, head_len};   // empty bytes of the last beat
/* verilator lint_on UNUSEDSIGNAL */
wire        pop_out = out_valid && out_ready;

always @* begin
    word_next = word_reg;
    head_pop_c = 1'b0;
    fetch_c = head_valid && {1'b0, occ_reg} + {3'd0, inflight_reg} < OUT_DEPTH;
    if (fetch_c) begin
        if (last_word) begin
            word_next = 16'd0;
            head_pop_c = 1'b1;
        end else begin
            word_next = word_reg + 16'd1;
        end
    end
end

always @(posedge clk) begin
    word_reg <= word_next;
    inflight_reg <= fetch_c;
    if (fetch_c) begin
        meta_sop_reg <= word_reg == 16'd0;
        meta_eop_reg <= last_word;
        meta_empty_reg <= last_word ? pad[EMPTY_WIDTH-1:0] : {EMPTY_WIDTH{1'b0}};
        meta_chan_reg <= head_chan;
    end
    occ_reg <= occ_reg + {2'd0, inflight_reg} - {2'd0, pop_out};
    if (rst) begin
        word_reg <= 16'd0;
        inflight_reg <= 1'b0;
        occ_reg <= 3'd0;
    end
end

initial begin
    meta_sop_reg = 1'b0;
    meta_eop_reg = 1'b0;
    meta_empty_reg = {EMPTY_WIDTH{1'b0}};
    meta_chan_reg = {CHAN_W{1'b0}};
end

assign rd_en = fetch_c;
assign rd_buf = head_buf;
assign rd_word = word_reg[WORD_W-1:0];
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

wire [PW-1:0] out_payload;

/* verilator lint_off PINCONNECTEMPTY */
jitnic_fifo #(.WIDTH(PW), .DEPTH(OUT_DEPTH)) u_out (
    .clk(clk), .rst(rst),
    .in_push(inflight_reg),
    .in_data({word_be, meta_sop_reg, meta_eop_reg, meta_empty_reg, meta_chan_reg}),
    .out_valid(out_valid), .out_data(out_payload), .out_pop(out_ready),
    .full()
);
/* verilator lint_on PINCONNECTEMPTY */

assign {out_data, out_startofpacket, out_endofpacket, out_empty, out_channel} = out_payload;

endmodule

`resetall
