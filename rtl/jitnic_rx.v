`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC ingress: Avalon-ST frames from the wire into packet buffers; never back-pressures.

`include "jitnic_abi.vh"

/*
 * rx_ready is always high: a MAC cannot be stalled, so the NIC takes one beat per cycle and
 * decides per frame. At start of packet the frame gets the lowest free buffer (jitnic_pktbuf);
 * each beat is written as one bus word (word w = bytes BPB*w.., byte BPB*w+j in bits [8j+7:8j],
 * bytes past the frame 0). At end of packet every frame counts RX_PACKETS (and RUNTS if shorter
 * than ETH_HLEN) and exactly one of, in this order of priority:
 *   rx_error high on any beat       -> dropped, RX_ERRORS   (bad FCS or any MAC-detected error)
 *   longer than PKT_BYTES           -> dropped, OVERSIZE
 *   no buffer was free at its start -> dropped, RX_DROPS    (rx_pause was high at its first beat)
 *   otherwise                       -> descriptor (buffer, length) to the packet engine.
 * A dropped frame's buffer, if it had one, is released at once. Malformed beat sequences are
 * dropped and counted in RX_MALFORMED, once per fragment: a start of packet inside a frame cuts
 * the frame short (dropped; the new frame keeps its buffer), and beats outside a frame without a
 * start of packet are discarded up to their end of packet.
 */
module jitnic_rx #(
    // Avalon-ST data width in bits: 64, 128, 256 or 512
    parameter DATA_WIDTH = 64,
    // width of rx_empty (derived, do not override)
    parameter EMPTY_WIDTH = $clog2(DATA_WIDTH / 8),
    // packet buffer bytes; multiple of DATA_WIDTH/8
    parameter PKT_BYTES = 2048,
    // packet buffers; power of two >= 2
    parameter N_BUFS = 4,
    // buffer index width (derived, do not override)
    parameter BUF_W = $clog2(N_BUFS),
    // bus-word index width inside a buffer (derived, do not override)
    parameter WORD_W = PKT_BYTES / (DATA_WIDTH / 8) > 1 ? $clog2(PKT_BYTES / (DATA_WIDTH / 8)) : 1
) (
    input  wire                   clk,
    input  wire                   rst,

    // frames from the wire
    input  wire [DATA_WIDTH-1:0]  rx_data,
    input  wire                   rx_valid,
    output wire                   rx_ready,
    input  wire                   rx_startofpacket,
    input  wire                   rx_endofpacket,
    input  wire [EMPTY_WIDTH-1:0] rx_empty,
    input  wire                   rx_error,

    // buffers: the lowest free one (valid while buf_avail), taken with buf_alloc
    input  wire                   buf_avail,
    input  wire [BUF_W-1:0]       buf_free,
    output wire                   buf_alloc,
    output wire                   buf_release,      // give back rel_buf (frame dropped)
    output wire [BUF_W-1:0]       rel_buf,

    // packet buffer write: one bus word
    output wire                   wr_en,
    output wire                   wr_first,
    output wire [BUF_W-1:0]       wr_buf,
    output wire [WORD_W-1:0]      wr_word,
    output wire [DATA_WIDTH-1:0]  wr_data,

    // descriptor of a received frame, into the engine's queue (never full: one per buffer)
    output wire                   desc_push,
    output wire [BUF_W-1:0]       desc_buf,
    output wire [15:0]            desc_len,

    // events (one-cycle pulses)
    output wire                   ev_frame,
    output wire                   ev_runt,
    output wire                   ev_oversize,
    output wire                   ev_drop,
    output wire                   ev_error,
    output wire                   ev_malformed
);

localparam BPB = DATA_WIDTH / 8;            // bytes per beat
localparam BPB_LOG = $clog2(BPB);

reg               in_frame_reg, in_frame_next;   // between a start and an end of packet
reg               orphan_reg, orphan_next;       // discarding beats that had no start of packet
reg               has_buf_reg, has_buf_next;     // the frame has a buffer
reg [BUF_W-1:0]   buf_reg, buf_next;
reg [16:0]        pos_reg, pos_next;             // byte offset of the next beat
reg               over_reg, over_next;           // longer than PKT_BYTES
reg               err_reg, err_next;             // rx_error seen

reg               alloc_c, release_c, push_c, wr_en_c;
reg               frame_c, runt_c, oversize_c, drop_c, error_c, malformed_c;
reg [DATA_WIDTH-1:0] beat_le;                    // beat bytes, first byte in [7:0], invalid bytes 0
reg [16:0]        nbytes;
reg [16:0]        beat_pos;
reg [16:0]        end_pos;
reg               in_beat;                       // this beat belongs to a frame

integer b;

always @* begin
    in_frame_next = in_frame_reg;
    orphan_next = orphan_reg;
    has_buf_next = has_buf_reg;
    buf_next = buf_reg;
    pos_next = pos_reg;
    over_next = over_reg;
    err_next = err_reg;
    alloc_c = 1'b0;
    release_c = 1'b0;
    push_c = 1'b0;
    wr_en_c = 1'b0;
    frame_c = 1'b0;
    runt_c = 1'b0;
    oversize_c = 1'b0;
    drop_c = 1'b0;
    error_c = 1'b0;
    malformed_c = 1'b0;
    in_beat = 1'b0;

    nbytes = BPB[16:0];
    if (rx_endofpacket) begin
        nbytes = BPB[16:0] - {{17-EMPTY_WIDTH{1'b0}}, rx_empty};
    end
    for (b = 0; b < BPB; b = b + 1) begin
        beat_le[8*b +: 8] = b < nbytes ? rx_data[DATA_WIDTH-1-8*b -: 8] : 8'd0;
    end
    beat_pos = rx_startofpacket ? 17'd0 : pos_reg;
    end_pos = beat_pos + nbytes;

    if (rx_valid) begin
        if (rx_startofpacket) begin
            // a frame cut short by this start of packet is a malformed fragment; the new frame
            // keeps its buffer, or gets a free one
            malformed_c = in_frame_reg;
            if (!(in_frame_reg && has_buf_reg)) begin
                has_buf_next = buf_avail;
                alloc_c = buf_avail;
                buf_next = buf_free;
            end
            in_frame_next = 1'b1;
            orphan_next = 1'b0;
            over_next = 1'b0;
            err_next = 1'b0;
            in_beat = 1'b1;
        end else if (in_frame_reg) begin
            in_beat = 1'b1;
        end else begin
            // no frame open: an orphan fragment, counted at its first beat, discarded to its end
            malformed_c = !orphan_reg;
            orphan_next = !rx_endofpacket;
        end

        if (in_beat) begin
            err_next = err_next || rx_error;
            if ({15'd0, end_pos} > PKT_BYTES) begin
                over_next = 1'b1;
            end
            if (!over_next) begin
                wr_en_c = has_buf_next;
                pos_next = end_pos;
            end
            if (rx_endofpacket) begin
                in_frame_next = 1'b0;
                frame_c = 1'b1;
                runt_c = !over_next && end_pos < `JITNIC_ETH_HLEN;
                if (err_next) begin
                    error_c = 1'b1;
                    release_c = has_buf_next;
                end else if (over_next) begin
                    oversize_c = 1'b1;
                    release_c = has_buf_next;
                end else if (!has_buf_next) begin
                    drop_c = 1'b1;
                end else begin
                    push_c = 1'b1;
                end
            end
        end
    end
end

always @(posedge clk) begin
    in_frame_reg <= in_frame_next;
    orphan_reg <= orphan_next;
    has_buf_reg <= has_buf_next;
    buf_reg <= buf_next;
    pos_reg <= pos_next;
    over_reg <= over_next;
    err_reg <= err_next;
    if (rst) begin
        in_frame_reg <= 1'b0;
        orphan_reg <= 1'b0;
        has_buf_reg <= 1'b0;
        buf_reg <= {BUF_W{1'b0}};
        pos_reg <= 17'd0;
        over_reg <= 1'b0;
        err_reg <= 1'b0;
    end
end

assign rx_ready = 1'b1;

assign buf_alloc = alloc_c;
assign buf_release = release_c;
assign rel_buf = buf_next;

assign wr_en = wr_en_c;
assign wr_first = rx_startofpacket;
assign wr_buf = buf_next;
assign wr_word = beat_pos[BPB_LOG +: WORD_W];
assign wr_data = beat_le;

assign desc_push = push_c;
assign desc_buf = buf_next;
assign desc_len = end_pos[15:0];

assign ev_frame = frame_c;
assign ev_runt = runt_c;
assign ev_oversize = oversize_c;
assign ev_drop = drop_c;
assign ev_error = error_c;
assign ev_malformed = malformed_c;

initial begin
    if (DATA_WIDTH != 64 && DATA_WIDTH != 128 && DATA_WIDTH != 256 && DATA_WIDTH != 512) begin
        $display("Error: DATA_WIDTH must be 64, 128, 256 or 512, got %0d (instance %m)", DATA_WIDTH);
        $finish;
    end
    if (PKT_BYTES % BPB != 0 || PKT_BYTES > 32768) begin
        $display("Error: PKT_BYTES must be a multiple of DATA_WIDTH/8 and <= 32768 (instance %m)");
        $finish;
    end
end

endmodule

`resetall
