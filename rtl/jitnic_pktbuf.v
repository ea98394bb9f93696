`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC packet buffers: free list, packet RAM in bus-width words, header windows, read ports.

/*
 * N_BUFS buffers of PKT_BYTES, each a frame between rx and its output (or drop). Word w of a buffer
 * is bytes BPB*w .. BPB*w+BPB-1 (BPB = DATA_WIDTH/8), byte BPB*w+j in bits [8j+7:8j].
 *
 * Head margin: in front of each frame the buffer has HEAD_BYTES (the NIC's headroom for
 * bpf_xdp_adjust_head), held only in the window registers (zero when rx starts a frame, written
 * by the engine with the trace's head), never in the RAM. The egress readers address a buffer as
 * head margin then frame: their word w is window word w below HEAD_WORDS + WIN_WORDS, else RAM
 * word w - HEAD_WORDS; an unadjusted frame starts at their byte HEAD_BYTES. The packet
 * RAM exists N_EXEC + 2 times with the same contents (written by rx), one read port each: one per
 * executor lane (64-bit words, a lane of the bus word) and the two egress readers (tx, host), so
 * none waits for another. Next to the RAM each buffer has its header window in registers: the first WIN_WORDS
 * bus words (byte k in bits [8k+7:8k], zero past the frame), read whole by the match and the
 * executor, overwritten with the trace's output window by the engine, and read word by word by
 * egress in place of the RAM (so the output frame is the window followed by the untouched rest).
 *
 * Allocation: `free_buf` is the lowest free buffer (valid while `free_any`); rx takes it with
 * `alloc`. Buffers are given back in any order through `release_mask` (rx: a frame dropped after
 * it started; engine: a dropped frame; egress: a frame whose last word was read). A buffer
 * allocated and released in the same cycle ends up free.
 */
module jitnic_pktbuf #(
    // bus width in bits: 64, 128, 256 or 512
    parameter DATA_WIDTH = 64,
    // header window bytes; multiple of 8
    parameter HDR_BYTES = 128,
    // buffer bytes; multiple of DATA_WIDTH/8, >= HDR_BYTES
    parameter PKT_BYTES = 2048,
    // buffers; power of two >= 2
    parameter N_BUFS = 4,
    // head margin in front of each frame (bytes); a multiple of DATA_WIDTH/8
    parameter HEAD_BYTES = 64,
    // executor read ports (one per executor lane), each on its own copy of the packet RAM; >= 1
    parameter N_EXEC = 1,
    // buffer index width (derived, do not override)
    parameter BUF_W = $clog2(N_BUFS),
    // bus-word index width inside a buffer (derived, do not override)
    parameter WORD_W = PKT_BYTES / (DATA_WIDTH / 8) > 1 ? $clog2(PKT_BYTES / (DATA_WIDTH / 8)) : 1,
    // executor 64-bit word address width (derived, do not override)
    parameter EXEC_ADDR_W = $clog2(PKT_BYTES / 8),
    // egress word index width: head margin and frame (derived, do not override)
    parameter QWORD_W = $clog2((HEAD_BYTES + PKT_BYTES) / (DATA_WIDTH / 8))
) (
    input  wire                     clk,
    input  wire                     rst,

    // allocation and release
    output wire                     free_any,
    output wire [BUF_W-1:0]         free_buf,
    input  wire                     alloc,
    input  wire [N_BUFS-1:0]        release_mask,
    output wire [N_BUFS-1:0]        busy,

    // rx writes one bus word; `wr_first` (word 0) also clears the rest of the buffer's window
    input  wire                     wr_en,
    input  wire                     wr_first,
    input  wire [BUF_W-1:0]         wr_buf,
    input  wire [WORD_W-1:0]        wr_word,
    input  wire [DATA_WIDTH-1:0]    wr_data,

    // whole windows: two read ports (combinational), one write port (the trace's output window)
    input  wire [BUF_W-1:0]         win_a_buf,
    output wire [HDR_BYTES*8-1:0]   win_a,
    input  wire [BUF_W-1:0]         win_b_buf,
    output wire [HDR_BYTES*8-1:0]   win_b,
    input  wire                     win_wr_en,
    input  wire [BUF_W-1:0]         win_wr_buf,
    input  wire [HDR_BYTES*8-1:0]   win_wr_data,
    input  wire [HEAD_BYTES*8-1:0]  win_wr_head,    // the head margin, written with the window

    // executor port p (lane p): 64-bit word exec_rd_addr of buffer exec_rd_buf, data the next
    // cycle (held otherwise); port p's fields at [p*width +: width]
    input  wire [N_EXEC-1:0]             exec_rd_en,
    input  wire [N_EXEC*BUF_W-1:0]       exec_rd_buf,
    input  wire [N_EXEC*EXEC_ADDR_W-1:0] exec_rd_addr,
    output wire [N_EXEC*64-1:0]          exec_rd_data,

    // egress readers 0 (tx) and 1 (host): bus word of head margin + frame, data the next cycle
    // (head and window words from the window registers)
    input  wire                     q0_rd_en,
    input  wire [BUF_W-1:0]         q0_rd_buf,
    input  wire [QWORD_W-1:0]       q0_rd_word,
    output wire [DATA_WIDTH-1:0]    q0_rd_data,
    input  wire                     q1_rd_en,
    input  wire [BUF_W-1:0]         q1_rd_buf,
    input  wire [QWORD_W-1:0]       q1_rd_word,
    output wire [DATA_WIDTH-1:0]    q1_rd_data
);

localparam BPB = DATA_WIDTH / 8;
localparam LANES = DATA_WIDTH / 64;                       // 64-bit executor words per bus word
localparam LANE_SHIFT = $clog2(LANES);
localparam LANE_W = LANES > 1 ? LANE_SHIFT : 1;
localparam HEAD_WORDS = HEAD_BYTES / BPB;
localparam WIN_WORDS = (HDR_BYTES + BPB - 1) / BPB;
localparam HW_WORDS = HEAD_WORDS + WIN_WORDS;              // window registers: head, then window
localparam WIN_BITS = HW_WORDS * DATA_WIDTH;
localparam HEAD_BITS = HEAD_BYTES * 8;
localparam RAM_ADDR_W = BUF_W + WORD_W;

// ---- free list ---------------------------------------------------------------------------------
reg [N_BUFS-1:0] busy_reg;

function [BUF_W-1:0] lowest_free(input [N_BUFS-1:0] used);
    integer i;
    begin
        lowest_free = {BUF_W{1'b0}};
        for (i = N_BUFS - 1; i >= 0; i = i - 1) begin
            if (!used[i]) begin
                lowest_free = i[BUF_W-1:0];
            end
        end
    end
endfunction

wire [BUF_W-1:0] free_idx = lowest_free(busy_reg);
wire [N_BUFS-1:0] alloc_mask = alloc ? ({{N_BUFS-1{1'b0}}, 1'b1} << free_idx) : {N_BUFS{1'b0}};

always @(posedge clk) begin
    busy_reg <= (busy_reg | alloc_mask) & ~release_mask;
    if (rst) begin
        busy_reg <= {N_BUFS{1'b0}};
    end
end

assign free_any = !(&busy_reg);
assign free_buf = free_idx;
assign busy = busy_reg;

// ---- header windows ------------------------------------------------------------------------------
wire [N_BUFS*WIN_BITS-1:0] win_flat;

genvar g;
generate
    for (g = 0; g < N_BUFS; g = g + 1) begin : g_win
        reg [WIN_BITS-1:0] win_reg;
        integer j;
        always @(posedge clk) begin
            // the engine writes a buffer rx is not writing (rx writes only the frame it receives)
            if (win_wr_en && win_wr_buf == g) begin
                win_reg[HEAD_BITS +: HDR_BYTES*8] <= win_wr_data;
                win_reg[HEAD_BITS-1:0] <= win_wr_head;
            end
            if (wr_en && wr_buf == g) begin
                for (j = 0; j < HW_WORDS; j = j + 1) begin
                    if ({{32-WORD_W{1'b0}}, wr_word} + HEAD_WORDS == j) begin
                        win_reg[DATA_WIDTH*j +: DATA_WIDTH] <= wr_data;
                    end else if (wr_first) begin
                        win_reg[DATA_WIDTH*j +: DATA_WIDTH] <= {DATA_WIDTH{1'b0}};
                    end
                end
            end
        end
        initial begin
            win_reg = {WIN_BITS{1'b0}};
        end
        assign win_flat[WIN_BITS*g +: WIN_BITS] = win_reg;
    end
endgenerate

// buffer b's window, selected by buffer: a binary tree of 2:1 multiplexers, one level per bit of b
// (a computed bit offset would be synthesized as a general shifter over all windows, and an
// `if (b == i)` loop as a chain of N_BUFS multiplexers per bit). The windows are an argument so
// that simulators see every input of the continuous assignments.
function [HDR_BYTES*8-1:0] win_of(input [N_BUFS*WIN_BITS-1:0] flat, input [BUF_W-1:0] b);
    reg [N_BUFS*HDR_BYTES*8-1:0] t;
    integer i, lv;
    begin
        for (i = 0; i < N_BUFS; i = i + 1) begin
            t[HDR_BYTES*8*i +: HDR_BYTES*8] = flat[WIN_BITS*i + HEAD_BITS +: HDR_BYTES*8];
        end
        for (lv = 0; lv < BUF_W; lv = lv + 1) begin
            for (i = 0; i < (N_BUFS >> (lv + 1)); i = i + 1) begin
                t[HDR_BYTES*8*i +: HDR_BYTES*8] = b[lv] ? t[HDR_BYTES*8*(2*i+1) +: HDR_BYTES*8]
                                                        : t[HDR_BYTES*8*(2*i) +: HDR_BYTES*8];
            end
        end
        win_of = t[HDR_BYTES*8-1:0];
    end
endfunction

assign win_a = win_of(win_flat, win_a_buf);
assign win_b = win_of(win_flat, win_b_buf);

// ---- packet RAM copies -----------------------------------------------------------------------------
wire [RAM_ADDR_W-1:0] wr_addr = {wr_buf, wr_word};

// executors: bus word = 64-bit address / LANES, the lane chosen when the read is issued; one RAM
// copy per executor port, so lanes never wait for each other
genvar x;
generate
    for (x = 0; x < N_EXEC; x = x + 1) begin : g_exec
        wire [BUF_W-1:0]       rd_buf = exec_rd_buf[x*BUF_W +: BUF_W];
        wire [EXEC_ADDR_W-1:0] rd_addr = exec_rd_addr[x*EXEC_ADDR_W +: EXEC_ADDR_W];
        /* verilator lint_off UNUSEDSIGNAL */
        wire [EXEC_ADDR_W+WORD_W:0] addr_wide = {{WORD_W+1{1'b0}}, rd_addr} >> LANE_SHIFT;
        /* verilator lint_on UNUSEDSIGNAL */
        wire [WORD_W-1:0]      word = addr_wide[WORD_W-1:0];
        wire [DATA_WIDTH-1:0]  ram_data;
        reg  [LANE_W-1:0]      lane_reg;

        jitnic_ram #(.DATA_W(DATA_WIDTH), .ADDR_W(RAM_ADDR_W)) u_ram_exec (
            .clk(clk),
            .wr_en(wr_en), .wr_be({BPB{1'b1}}), .wr_addr(wr_addr), .wr_data(wr_data),
            .rd_en(exec_rd_en[x]), .rd_addr({rd_buf, word}), .rd_data(ram_data)
        );

        always @(posedge clk) begin
            if (exec_rd_en[x]) begin
                lane_reg <= LANES > 1 ? rd_addr[LANE_W-1:0] : {LANE_W{1'b0}};
            end
        end

        initial begin
            lane_reg = {LANE_W{1'b0}};
        end

        assign exec_rd_data[x*64 +: 64] = ram_data[64*lane_reg +: 64];
    end
endgenerate

// egress: head margin and window words from the registers (the possibly rewritten header), the
// rest from the RAM (HEAD_WORDS less: the RAM holds the frame alone)
wire [DATA_WIDTH-1:0] q0_ram_data, q1_ram_data;
localparam [QWORD_W-1:0] HEAD_WORDS_Q = HEAD_WORDS[QWORD_W-1:0];
/* verilator lint_off UNUSEDSIGNAL */
wire [QWORD_W-1:0]    q0_ram_wide = q0_rd_word - HEAD_WORDS_Q;   // (used only past the window)
wire [QWORD_W-1:0]    q1_ram_wide = q1_rd_word - HEAD_WORDS_Q;
/* verilator lint_on UNUSEDSIGNAL */
wire [WORD_W-1:0]     q0_ram_word = q0_ram_wide[WORD_W-1:0];
wire [WORD_W-1:0]     q1_ram_word = q1_ram_wide[WORD_W-1:0];
reg  [DATA_WIDTH-1:0] q0_win_reg, q1_win_reg;
reg                   q0_use_win_reg, q1_use_win_reg;

jitnic_ram #(.DATA_W(DATA_WIDTH), .ADDR_W(RAM_ADDR_W)) u_ram_q0 (
    .clk(clk),
    .wr_en(wr_en), .wr_be({BPB{1'b1}}), .wr_addr(wr_addr), .wr_data(wr_data),
    .rd_en(q0_rd_en), .rd_addr({q0_rd_buf, q0_ram_word}), .rd_data(q0_ram_data)
);

jitnic_ram #(.DATA_W(DATA_WIDTH), .ADDR_W(RAM_ADDR_W)) u_ram_q1 (
    .clk(clk),
    .wr_en(wr_en), .wr_be({BPB{1'b1}}), .wr_addr(wr_addr), .wr_data(wr_data),
    .rd_en(q1_rd_en), .rd_addr({q1_rd_buf, q1_ram_word}), .rd_data(q1_ram_data)
);

// window word w of buffer b (w < HW_WORDS; egress takes words past the window from the RAM): a
// binary tree over the (buffer, word) pairs selected by {b, w}, as win_of. (A computed bit offset
// into the flat windows, `win_flat[WIN_BITS*b + DATA_WIDTH*w +: DATA_WIDTH]`, is synthesized by
// yosys as a general shifter over all N_BUFS*WIN_BITS bits.)
localparam WSEL_W = HW_WORDS > 1 ? $clog2(HW_WORDS) : 1;       // word bits of the select
localparam WIN_P2 = 1 << WSEL_W;                               // words per buffer in the tree
localparam SEL_W = BUF_W + WSEL_W;

// (only w's low WSEL_W bits select: the caller uses the result only for w < WIN_WORDS)
/* verilator lint_off UNUSEDSIGNAL */
function [DATA_WIDTH-1:0] win_word(input [BUF_W-1:0] b, input [QWORD_W-1:0] w);
/* verilator lint_on UNUSEDSIGNAL */
    reg [N_BUFS*WIN_P2*DATA_WIDTH-1:0] t;
    reg [SEL_W-1:0] sel;
    integer i, j, lv;
    begin
        for (i = 0; i < N_BUFS * WIN_P2; i = i + 1) begin     // (a replication this wide is suspect to Verilator)
            t[DATA_WIDTH*i +: DATA_WIDTH] = {DATA_WIDTH{1'b0}};
        end
        for (i = 0; i < N_BUFS; i = i + 1) begin
            for (j = 0; j < HW_WORDS; j = j + 1) begin
                t[DATA_WIDTH*(WIN_P2*i+j) +: DATA_WIDTH] = win_flat[WIN_BITS*i + DATA_WIDTH*j +: DATA_WIDTH];
            end
        end
        sel = {b, w[WSEL_W-1:0]};
        for (lv = 0; lv < SEL_W; lv = lv + 1) begin
            for (i = 0; i < ((N_BUFS * WIN_P2) >> (lv + 1)); i = i + 1) begin
                t[DATA_WIDTH*i +: DATA_WIDTH] = sel[lv] ? t[DATA_WIDTH*(2*i+1) +: DATA_WIDTH]
                                                        : t[DATA_WIDTH*(2*i) +: DATA_WIDTH];
            end
        end
        win_word = t[DATA_WIDTH-1:0];
    end
endfunction

always @(posedge clk) begin
    if (q0_rd_en) begin
        q0_use_win_reg <= {{32-QWORD_W{1'b0}}, q0_rd_word} < HW_WORDS;
        q0_win_reg <= win_word(q0_rd_buf, q0_rd_word);
    end
    if (q1_rd_en) begin
        q1_use_win_reg <= {{32-QWORD_W{1'b0}}, q1_rd_word} < HW_WORDS;
        q1_win_reg <= win_word(q1_rd_buf, q1_rd_word);
    end
end

initial begin
    q0_win_reg = {DATA_WIDTH{1'b0}};
    q1_win_reg = {DATA_WIDTH{1'b0}};
    q0_use_win_reg = 1'b0;
    q1_use_win_reg = 1'b0;
end

assign q0_rd_data = q0_use_win_reg ? q0_win_reg : q0_ram_data;
assign q1_rd_data = q1_use_win_reg ? q1_win_reg : q1_ram_data;

initial begin
    if (DATA_WIDTH != 64 && DATA_WIDTH != 128 && DATA_WIDTH != 256 && DATA_WIDTH != 512) begin
        $display("Error: DATA_WIDTH must be 64, 128, 256 or 512, got %0d (instance %m)", DATA_WIDTH);
        $finish;
    end
    if (N_EXEC < 1) begin
        $display("Error: N_EXEC must be >= 1, got %0d (instance %m)", N_EXEC);
        $finish;
    end
    if (HEAD_BYTES % BPB != 0) begin
        $display("Error: HEAD_BYTES must be a multiple of DATA_WIDTH/8 (instance %m)");
        $finish;
    end
    if (HDR_BYTES % 8 != 0 || PKT_BYTES % BPB != 0 || PKT_BYTES < HDR_BYTES || PKT_BYTES > 32768) begin
        $display("Error: need HDR_BYTES a multiple of 8, PKT_BYTES a multiple of DATA_WIDTH/8, HDR_BYTES <= PKT_BYTES <= 32768 (instance %m)");
        $finish;
    end
end

endmodule

`resetall
