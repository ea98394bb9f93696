`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC top: ingress, condition match, replacement policy, trace executor, egress, control registers.

`include "jitnic_abi.vh"

/*
 * Per frame (docs/rtl.md): jitnic_rx stores the frame in a free one of N_BUFS packet buffers
 * (jitnic_pktbuf: packet RAM in bus-width words plus a header window per buffer) and queues
 * (buffer, length) for the packet engine below; rx never back-pressures: a frame that finds no
 * free buffer is dropped and counted (RX_DROPS), and rx_pause tells an upstream that can pause
 * (802.3x) when that would happen. The engine looks the frame up in jitnic_match, touches the
 * policy on a hit and runs the entry's trace in jitnic_exec, writes the trace's output window
 * back into the buffer's window and hands (buffer, length, channel) to the tx or host queue of
 * jitnic_tx (or frees the buffer of a dropped frame). A trace whose guard fails (trace format v2)
 * runs again on the frame with the next matching entry of higher index (at most MAX_GUARD_TRIES
 * attempts); if none passes the frame goes to the host as a MISS (GUARD_MISSES). Map requests
 * and prandom draws are granted to the lane of the oldest frame only, so traces touch the maps in
 * arrival order (docs/memory_model.md rule 1). Each queue reads its frames from the
 * buffers on its own port, so neither output blocks the other; frames leave every stream in
 * arrival order. jitnic_axil_regs owns the control bus, the entry valid bits and commits, which
 * it performs only while the engine is idle and held (no frame ever matches a half-written entry).
 */
module jitnic_top #(
    // trace-cache entries; power of two, 1..64
    parameter N_ENTRIES = `JITNIC_N_ENTRIES,
    // atoms per entry condition, 1..256
    parameter MAX_ATOMS = `JITNIC_MAX_ATOMS,
    // trace slots per entry (LD_IMM64 takes two), 2..1024
    parameter MAX_TRACE_LEN = `JITNIC_MAX_TRACE_LEN,
    // header window bytes: atoms read it, stores write it; multiple of 8, >= 16
    parameter HDR_BYTES = `JITNIC_HDR_BYTES,
    // Avalon-ST data width of every stream and the packet RAM word: 64, 128, 256 or 512
    parameter DATA_WIDTH = `JITNIC_DATA_WIDTH,
    // packet buffer bytes; longer frames are dropped (OVERSIZE); multiple of DATA_WIDTH/8,
    // HDR_BYTES..32768
    parameter PKT_BYTES = `JITNIC_PKT_BYTES,
    // replacement policy: "lru", "fifo", "random" or "plru"
    parameter [63:0] POLICY = "lru",
    // packet buffers (frames in flight between rx and the outputs); power of two >= 2
    // (a frame holds one from its first beat in to its last word read: 8 keep IMIX at line rate)
    parameter N_BUFS = `JITNIC_N_BUFS,
    // executor lanes: hits executing at once, each a jitnic_exec with its own trace RAM and
    // packet RAM copies; results leave in arrival order; 1..16
    parameter N_LANES = `JITNIC_N_LANES,
    // field extractor slots shared by all entries' atoms, 1..64 (a commit whose fields do not
    // fit in the free slots fails with SLOTS_FULL)
    parameter N_SLOTS = `JITNIC_N_SLOTS,
    // per entry: compare cells for length atoms (0..16) and general atoms (0..64) besides the
    // one cell per slot (a commit whose atoms do not fit fails with CELLS_FULL)
    parameter N_LEN_ATOMS = `JITNIC_N_LEN_ATOMS,
    parameter N_GEN_ATOMS = `JITNIC_N_GEN_ATOMS,
    // width of the empty signals (derived, do not override)
    parameter EMPTY_WIDTH = $clog2(DATA_WIDTH / 8)
) (
    input  wire                   clk,
    input  wire                   rst,

    // frames from the wire: rx_ready is always high; rx_error on any beat marks the frame bad
    // (dropped, RX_ERRORS); rx_pause is high while a frame starting now would find no free
    // buffer (it would be dropped, RX_DROPS)
    input  wire [DATA_WIDTH-1:0]  rx_data,
    input  wire                   rx_valid,
    output wire                   rx_ready,
    input  wire                   rx_startofpacket,
    input  wire                   rx_endofpacket,
    input  wire [EMPTY_WIDTH-1:0] rx_empty,
    input  wire                   rx_error,
    output wire                   rx_pause,

    // frames to the wire (XDP_TX and host_tx)
    output wire [DATA_WIDTH-1:0]  tx_data,
    output wire                   tx_valid,
    input  wire                   tx_ready,
    output wire                   tx_startofpacket,
    output wire                   tx_endofpacket,
    output wire [EMPTY_WIDTH-1:0] tx_empty,

    // frames to the host: channel MISS, PASS, REDIRECT, EXEC_ERROR
    output wire [DATA_WIDTH-1:0]  host_data,
    output wire                   host_valid,
    input  wire                   host_ready,
    output wire                   host_startofpacket,
    output wire                   host_endofpacket,
    output wire [EMPTY_WIDTH-1:0] host_empty,
    output wire [1:0]             host_channel,
    // with every beat of a host frame: the REDIRECT metadata word (encoding.redirect_meta) of a
    // trace that returned XDP_REDIRECT; 0 on the other channels
    output wire [63:0]            host_meta,

    // frames the host sends to the wire
    input  wire [DATA_WIDTH-1:0]  host_tx_data,
    input  wire                   host_tx_valid,
    output wire                   host_tx_ready,
    input  wire                   host_tx_startofpacket,
    input  wire                   host_tx_endofpacket,
    input  wire [EMPTY_WIDTH-1:0] host_tx_empty,

    // control bus (AXI4-Lite, docs/abi.md register map)
    input  wire [15:0]            s_axil_awaddr,
    input  wire [2:0]             s_axil_awprot,
    input  wire                   s_axil_awvalid,
    output wire                   s_axil_awready,
    input  wire [31:0]            s_axil_wdata,
    input  wire [3:0]             s_axil_wstrb,
    input  wire                   s_axil_wvalid,
    output wire                   s_axil_wready,
    output wire [1:0]             s_axil_bresp,
    output wire                   s_axil_bvalid,
    input  wire                   s_axil_bready,
    input  wire [15:0]            s_axil_araddr,
    input  wire [2:0]             s_axil_arprot,
    input  wire                   s_axil_arvalid,
    output wire                   s_axil_arready,
    output wire [31:0]            s_axil_rdata,
    output wire [1:0]             s_axil_rresp,
    output wire                   s_axil_rvalid,
    input  wire                   s_axil_rready,

    // the receive time of the frame on rx (ns; bpf_ktime_get_ns of its trace), sampled with the
    // frame's first beat
    input  wire [63:0]            rx_timestamp
);

localparam IDX_W = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 1;
localparam SLOT_W = $clog2(MAX_TRACE_LEN);
localparam SIDX_W = N_SLOTS > 1 ? $clog2(N_SLOTS) : 1;
localparam N_CELLS = N_SLOTS + N_LEN_ATOMS + N_GEN_ATOMS;
localparam CELL_W = N_CELLS > 1 ? $clog2(N_CELLS) : 1;
localparam BUF_W = $clog2(N_BUFS);
localparam PKT_ADDR_W = $clog2(PKT_BYTES / 8);
localparam LANE_W = N_LANES > 1 ? $clog2(N_LANES) : 1;
localparam TRY_W = $clog2(`JITNIC_MAX_GUARD_TRIES + 1);
localparam MAP_KEY_W = `JITNIC_MAP_MAX_KEY_BYTES * 8;

localparam [63:0] P_LRU = "lru";
localparam [63:0] P_FIFO = "fifo";
localparam [63:0] P_RANDOM = "random";
localparam POLICY_CODE = POLICY == P_LRU ? 0 : POLICY == P_FIFO ? 1 : POLICY == P_RANDOM ? 2 : 3;

// ---- ingress and packet buffers ---------------------------------------------------------------
localparam BPB = DATA_WIDTH / 8;
localparam PKT_WORDS = PKT_BYTES / BPB;
localparam WORD_W = PKT_WORDS > 1 ? $clog2(PKT_WORDS) : 1;
localparam HEAD_BYTES = `JITNIC_NIC_HEADROOM;               // head margin in front of each frame
localparam QWORD_W = $clog2((HEAD_BYTES + PKT_BYTES) / BPB); // egress word: head margin + frame

wire                   buf_avail;
wire [BUF_W-1:0]       buf_free_idx;
wire                   buf_alloc;
wire [N_BUFS-1:0]      buf_release_mask;
wire [N_BUFS-1:0]      bufs_busy;
wire                   rx_release;
wire [BUF_W-1:0]       rx_rel_buf;
wire                   rx_wr_en, rx_wr_first;
wire [BUF_W-1:0]       rx_wr_buf;
wire [WORD_W-1:0]      rx_wr_word;
wire [DATA_WIDTH-1:0]  rx_wr_data;
wire                   rxd_push;
wire [BUF_W-1:0]       rxd_push_buf;
wire [15:0]            rxd_push_len;
wire                   ev_frame, ev_runt, ev_oversize, ev_rx_drop, ev_rx_error, ev_malformed;
wire                   ev_host_tx;

jitnic_rx #(
    .DATA_WIDTH(DATA_WIDTH), .PKT_BYTES(PKT_BYTES), .N_BUFS(N_BUFS)
) u_rx (
    .clk(clk), .rst(rst),
    .rx_data(rx_data), .rx_valid(rx_valid), .rx_ready(rx_ready),
    .rx_startofpacket(rx_startofpacket), .rx_endofpacket(rx_endofpacket), .rx_empty(rx_empty),
    .rx_error(rx_error),
    .buf_avail(buf_avail), .buf_free(buf_free_idx), .buf_alloc(buf_alloc),
    .buf_release(rx_release), .rel_buf(rx_rel_buf),
    .wr_en(rx_wr_en), .wr_first(rx_wr_first), .wr_buf(rx_wr_buf), .wr_word(rx_wr_word),
    .wr_data(rx_wr_data),
    .desc_push(rxd_push), .desc_buf(rxd_push_buf), .desc_len(rxd_push_len),
    .ev_frame(ev_frame), .ev_runt(ev_runt), .ev_oversize(ev_oversize), .ev_drop(ev_rx_drop),
    .ev_error(ev_rx_error), .ev_malformed(ev_malformed)
);

assign rx_pause = !buf_avail;

// each buffer's frame timestamp: rx_timestamp at the frame's first beat, stored with the frame's
// descriptor (at its last beat) and read by the lane that starts on the buffer
reg [63:0] rx_ts_sop_reg = 64'd0;
reg [63:0] buf_ts_mem [0:N_BUFS-1];
wire [63:0] rx_ts_frame = rx_valid && rx_startofpacket ? rx_timestamp : rx_ts_sop_reg;
integer bi;
initial begin
    for (bi = 0; bi < N_BUFS; bi = bi + 1) begin
        buf_ts_mem[bi] = 64'd0;
    end
end
always @(posedge clk) begin
    if (rx_valid && rx_startofpacket) begin
        rx_ts_sop_reg <= rx_timestamp;
    end
    if (rxd_push) begin
        buf_ts_mem[rxd_push_buf] <= rx_ts_frame;
    end
end

// received frames waiting for the engine, oldest first (one per buffer at most)
wire                   rxd_valid;
wire                   rxd_ready;
wire [BUF_W-1:0]       rxd_buf;
wire [15:0]            rxd_len;

/* verilator lint_off PINCONNECTEMPTY */
jitnic_fifo #(.WIDTH(BUF_W + 16), .DEPTH(N_BUFS)) u_rx_queue (
    .clk(clk), .rst(rst),
    .in_push(rxd_push), .in_data({rxd_push_buf, rxd_push_len}),
    .out_valid(rxd_valid), .out_data({rxd_buf, rxd_len}), .out_pop(rxd_ready),
    .full()
);
/* verilator lint_on PINCONNECTEMPTY */

wire [N_LANES-1:0]            lane_pkt_rd_en;
wire [N_LANES*PKT_ADDR_W-1:0] lane_pkt_rd_addr;
wire [N_LANES*64-1:0]         lane_pkt_rd_data;
wire [N_LANES*BUF_W-1:0]      lane_buf_flat;
wire [BUF_W-1:0]       lookup_buf;
wire [HDR_BYTES*8-1:0] lookup_hdr;
wire [BUF_W-1:0]       dq_buf;
wire [HDR_BYTES*8-1:0] dispatch_hdr;
reg                    win_wr_c;
wire [BUF_W-1:0]       rob_buf;
reg  [HDR_BYTES*8-1:0] retire_hdr;
// the head margin as the trace left it, and where the frame starts in the buffer (head margin
// first) and its length: the trace's (bpf_xdp_adjust_head/tail) for a frame leaving after exit,
// the frame as received for everything else
reg  [HEAD_BYTES*8-1:0] retire_head;
localparam [15:0]      FRAME_OFF = HEAD_BYTES;
wire [15:0]            retire_off, retire_len;
wire                   txq_rd_en, hostq_rd_en;
wire [BUF_W-1:0]       txq_rd_buf, hostq_rd_buf;
wire [QWORD_W-1:0]     txq_rd_word, hostq_rd_word;
wire [DATA_WIDTH-1:0]  txq_rd_data, hostq_rd_data;

jitnic_pktbuf #(
    .DATA_WIDTH(DATA_WIDTH), .HDR_BYTES(HDR_BYTES), .PKT_BYTES(PKT_BYTES), .N_BUFS(N_BUFS),
    .HEAD_BYTES(HEAD_BYTES), .N_EXEC(N_LANES)
) u_bufs (
    .clk(clk), .rst(rst),
    .free_any(buf_avail), .free_buf(buf_free_idx), .alloc(buf_alloc),
    .release_mask(buf_release_mask), .busy(bufs_busy),
    .wr_en(rx_wr_en), .wr_first(rx_wr_first), .wr_buf(rx_wr_buf), .wr_word(rx_wr_word),
    .wr_data(rx_wr_data),
    .win_a_buf(lookup_buf), .win_a(lookup_hdr),
    .win_b_buf(dq_buf), .win_b(dispatch_hdr),
    .win_wr_en(win_wr_c), .win_wr_buf(rob_buf), .win_wr_data(retire_hdr),
    .win_wr_head(retire_head),
    .exec_rd_en(lane_pkt_rd_en), .exec_rd_buf(lane_buf_flat), .exec_rd_addr(lane_pkt_rd_addr),
    .exec_rd_data(lane_pkt_rd_data),
    .q0_rd_en(txq_rd_en), .q0_rd_buf(txq_rd_buf), .q0_rd_word(txq_rd_word), .q0_rd_data(txq_rd_data),
    .q1_rd_en(hostq_rd_en), .q1_rd_buf(hostq_rd_buf), .q1_rd_word(hostq_rd_word),
    .q1_rd_data(hostq_rd_data)
);

// ---- control block -----------------------------------------------------------------------------
wire                     entry_wr_en;
wire [IDX_W-1:0]         entry_wr_index;
wire                     atom_wr_en;
wire [CELL_W-1:0]        atom_wr_cell;
wire [SIDX_W-1:0]        atom_wr_slot;
wire [95:0]              atom_wr_words;
wire [N_SLOTS*32-1:0]    slot_fields;
wire                     trace_wr_en;
wire [IDX_W+SLOT_W-1:0]  trace_wr_addr;
wire [63:0]              trace_wr_data;
wire [N_ENTRIES-1:0]     entry_valid;
wire                     engine_hold;
wire                     engine_idle;
wire                     pol_fill_valid;
wire [IDX_W-1:0]         pol_fill_index;
wire                     pol_fill_evict;
wire                     pol_invalidate_all;
wire                     pol_seed_valid;
wire [31:0]              pol_seed;
wire [IDX_W-1:0]         pol_victim;
reg  [`N_COUNTERS-1:0]   cnt_inc;
reg  [31:0]              exec_cycles;
reg  [15:0]              retire_map_ops;
wire [SLOT_W:0]          entry_wr_trace_len;
wire [31:0]              prandom_seed;
wire [3:0]               commit_state;

// packet engine events
reg                      ev_hit_c;
reg  [IDX_W-1:0]         ev_hit_index_c;

// control bus <-> map memory (jitnic_maps below)
wire        map_reg_wr, map_reg_rd, map_busy;
wire [11:0] map_reg_waddr, map_reg_raddr;
wire [31:0] map_reg_wdata, map_reg_rdata;
wire [3:0]  map_reg_wstrb;

jitnic_axil_regs #(
    .N_ENTRIES(N_ENTRIES), .MAX_ATOMS(MAX_ATOMS), .MAX_TRACE_LEN(MAX_TRACE_LEN),
    .HDR_BYTES(HDR_BYTES), .PKT_BYTES(PKT_BYTES), .POLICY_CODE(POLICY_CODE), .N_SLOTS(N_SLOTS),
    .N_LEN_ATOMS(N_LEN_ATOMS), .N_GEN_ATOMS(N_GEN_ATOMS)
) u_regs (
    .clk(clk), .rst(rst),
    .s_axil_awaddr(s_axil_awaddr), .s_axil_awprot(s_axil_awprot), .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready), .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready), .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready), .s_axil_araddr(s_axil_araddr),
    .s_axil_arprot(s_axil_arprot), .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp), .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .entry_wr_en(entry_wr_en), .entry_wr_index(entry_wr_index), .atom_wr_en(atom_wr_en),
    .atom_wr_cell(atom_wr_cell), .atom_wr_slot(atom_wr_slot), .atom_wr_words(atom_wr_words),
    .slot_fields(slot_fields),
    .entry_wr_trace_len(entry_wr_trace_len),
    .trace_wr_en(trace_wr_en), .trace_wr_addr(trace_wr_addr), .trace_wr_data(trace_wr_data),
    .entry_valid(entry_valid),
    .engine_hold(engine_hold), .engine_idle(engine_idle),
    .pol_fill_valid(pol_fill_valid), .pol_fill_index(pol_fill_index), .pol_fill_evict(pol_fill_evict),
    .pol_invalidate_all(pol_invalidate_all), .pol_seed_valid(pol_seed_valid), .pol_seed(pol_seed),
    .pol_victim(pol_victim),
    .cnt_inc(cnt_inc), .cnt_exec_cycles(exec_cycles), .cnt_map_ops(retire_map_ops),
    .prandom_seed(prandom_seed),
    .hit_valid(ev_hit_c), .hit_index(ev_hit_index_c),
    .map_reg_wr(map_reg_wr), .map_reg_waddr(map_reg_waddr), .map_reg_wdata(map_reg_wdata),
    .map_reg_wstrb(map_reg_wstrb), .map_reg_rd(map_reg_rd), .map_reg_raddr(map_reg_raddr),
    .map_reg_rdata(map_reg_rdata), .map_busy(map_busy),
    .dbg_commit_state(commit_state)
);

// ---- NIC map memory (jitnic_maps): the control bus's map region, and the executor port of the
// granted lane (below: the lane of the oldest frame); a bus command waits while any lane's
// transaction is open (rule 2)
wire        map_ex_ready, map_ex_resp_valid, map_ex_resp_ok;
wire [31:0] map_ex_resp_addr;
wire [63:0] map_ex_resp_data;
wire        map_ex_valid_c;
wire [2:0]  map_ex_op_c;
wire [7:0]  map_ex_map_c;
wire [MAP_KEY_W-1:0] map_ex_key_c;
wire [31:0] map_ex_addr_c;
wire [63:0] map_ex_data_c;
wire [7:0]  map_ex_be_c;
wire [N_LANES-1:0] lane_txn_open;
wire [31:0]        map_turn;        // MAP_TURN's source, below the reorder queue
wire               map_hold;        // bus map commands wait (rule 2), below the reorder queue

jitnic_maps u_maps (
    .clk(clk), .rst(rst),
    .reg_wr(map_reg_wr), .reg_waddr(map_reg_waddr), .reg_wdata(map_reg_wdata),
    .reg_wstrb(map_reg_wstrb), .reg_rd(map_reg_rd), .reg_raddr(map_reg_raddr),
    .reg_rdata(map_reg_rdata), .busy(map_busy),
    .ex_txn_open(map_hold), .ex_turn(map_turn),
    .ex_req_valid(map_ex_valid_c), .ex_req_ready(map_ex_ready),
    .ex_req_op(map_ex_op_c), .ex_req_map(map_ex_map_c), .ex_req_key(map_ex_key_c),
    .ex_req_addr(map_ex_addr_c), .ex_req_data(map_ex_data_c), .ex_req_be(map_ex_be_c),
    .ex_resp_valid(map_ex_resp_valid), .ex_resp_ok(map_ex_resp_ok),
    .ex_resp_addr(map_ex_resp_addr), .ex_resp_data(map_ex_resp_data)
);

// the NIC's bpf_get_prandom_u32 LFSR (nic_helpers.NicPrandom): loaded from REG_PRANDOM_SEED on
// CTRL_RESEED (0 loads the default seed), stepped by the committing lane's draws
reg [31:0] prandom_reg;
wire [N_LANES-1:0]    lane_prandom_we;
wire [N_LANES*32-1:0] lane_prandom_next;
integer pl;
always @(posedge clk) begin
    for (pl = 0; pl < N_LANES; pl = pl + 1) begin
        if (lane_prandom_we[pl]) begin
            prandom_reg <= lane_prandom_next[32*pl +: 32];
        end
    end
    if (pol_seed_valid) begin
        prandom_reg <= prandom_seed == 32'd0 ? `LFSR_DEFAULT_SEED : prandom_seed;
    end
    if (rst) begin
        prandom_reg <= `LFSR_DEFAULT_SEED;
    end
end

// each entry's trace length (the executor's guard exit), written with the entry by a commit
reg [SLOT_W:0] tlen_mem [0:N_ENTRIES-1];
integer ti;
initial begin
    for (ti = 0; ti < N_ENTRIES; ti = ti + 1) begin
        tlen_mem[ti] = {(SLOT_W+1){1'b0}};
    end
end
always @(posedge clk) begin
    if (entry_wr_en) begin
        tlen_mem[entry_wr_index] <= entry_wr_trace_len;
    end
end

jitnic_policy #(.POLICY(POLICY), .N_ENTRIES(N_ENTRIES)) u_policy (
    .clk(clk), .rst(rst),
    .touch_valid(ev_hit_c), .touch_index(ev_hit_index_c),
    .fill_valid(pol_fill_valid), .fill_index(pol_fill_index), .fill_evict(pol_fill_evict),
    .invalidate_all(pol_invalidate_all), .seed_valid(pol_seed_valid), .seed(pol_seed),
    .victim(pol_victim)
);

// ---- packet engine: lookup, dispatch to a lane, retire in arrival order -------------------------
/*
 * Four stages, each taking one frame per cycle, joined by queues of N_BUFS entries (every frame in
 * the engine holds a buffer, so no queue can overflow):
 *   take     a frame leaves the rx queue and its lookup starts (the match samples its window now);
 *            the frame waits in the lookup queue for its answer (lookups answer in order)
 *   answer   lookup_done: hit/miss counted, the policy touched on a hit; the frame moves on to the
 *            dispatch queue with its entry
 *   dispatch a miss goes straight to the reorder queue; a hit starts on the lowest free lane, which
 *            reads slot 0 of the entry's trace in the same cycle (executor PREFETCH), and goes to
 *            the reorder queue naming its lane
 *   retire   the oldest frame of the reorder queue leaves once it is a miss or its lane is done:
 *            hand-off to the tx or host queue (or buffer freed), the trace's window written back,
 *            the lane free again (it may start the next frame in the same cycle)
 * So lookups overlap execution, N_LANES traces run at once, and every frame leaves the engine in
 * arrival order (docs/memory_model.md rule 1: a lane's effects are committed at retire, in order).
 */
// take
wire                  take_c = rxd_valid && !engine_hold;
wire                  match_start_c = take_c;
assign rxd_ready = take_c;
assign lookup_buf = rxd_buf;
wire [15:0]           lookup_len = rxd_len;

wire                  lookup_done;
wire                  lookup_hit;
wire [IDX_W-1:0]      lookup_index;
wire [N_ENTRIES-1:0]  lookup_vector;
/* verilator lint_off UNUSEDSIGNAL */
wire [BUF_W-1:0]      lookup_done_buf;    // the looked-up frame's buffer (tag), for waveforms
/* verilator lint_on UNUSEDSIGNAL */

// frames whose lookup is in flight
wire                  lkq_valid;
wire [BUF_W-1:0]      lkq_buf;
wire [15:0]           lkq_len;

/* verilator lint_off PINCONNECTEMPTY */
jitnic_fifo #(.WIDTH(BUF_W + 16), .DEPTH(N_BUFS)) u_lookup_queue (
    .clk(clk), .rst(rst),
    .in_push(take_c), .in_data({rxd_buf, rxd_len}),
    .out_valid(lkq_valid), .out_data({lkq_buf, lkq_len}), .out_pop(lookup_done),
    .full()
);

// looked-up frames waiting for a lane (hits) or for the reorder queue (misses)
wire                  dq_valid;
wire [15:0]           dq_len;
wire                  dq_hit;
wire [IDX_W-1:0]      dq_entry;
wire [N_ENTRIES-1:0]  dq_vector;          // every matching entry (guard fall-through)
wire                  dq_pop;

jitnic_fifo #(.WIDTH(BUF_W + 16 + 1 + IDX_W + N_ENTRIES), .DEPTH(N_BUFS)) u_dispatch_queue (
    .clk(clk), .rst(rst),
    .in_push(lookup_done), .in_data({lkq_buf, lkq_len, lookup_hit, lookup_index, lookup_vector}),
    .out_valid(dq_valid), .out_data({dq_buf, dq_len, dq_hit, dq_entry, dq_vector}), .out_pop(dq_pop),
    .full()
);

// lanes: busy from start to retire; a result is ready from its final done to retire. A done with
// EXEC_ERR_GUARD is final only when no further matching entry may be tried: otherwise the lane
// takes the next one and pulses retry the cycle after.
reg  [N_LANES-1:0]    lane_busy_reg;
reg  [N_LANES-1:0]    lane_ready_reg;
reg  [IDX_W-1:0]      lane_entry_reg [0:N_LANES-1];
reg  [BUF_W-1:0]      lane_buf_reg [0:N_LANES-1];
reg  [N_ENTRIES-1:0]  lane_vector_reg [0:N_LANES-1];   // the frame's matching entries
reg  [TRY_W-1:0]      lane_tries_reg [0:N_LANES-1];    // attempts so far
reg  [31:0]           lane_cyc_reg [0:N_LANES-1];      // cycles of the failed attempts
reg  [15:0]           lane_ops_reg [0:N_LANES-1];      // map_ops of the final attempt
reg  [63:0]           lane_meta_reg [0:N_LANES-1];     // redirect_meta of the final attempt
reg  [N_LANES-1:0]    lane_retry_reg;                  // retry pulse (the cycle after the done)
reg  [N_LANES-1:0]    lane_gmiss_reg;                  // every tried entry failed its guard
wire [N_LANES-1:0]    lane_done;
wire [N_LANES*32-1:0] lane_action;
wire [N_LANES*4-1:0]  lane_err;
wire [N_LANES*32-1:0] lane_cycles;
wire [N_LANES*HDR_BYTES*8-1:0] lane_hdr_out;
wire [N_LANES*HEAD_BYTES*8-1:0] lane_head_out;  // adjust_head/tail: head margin, frame offset/length
wire [N_LANES*16-1:0] lane_frame_off;
wire [N_LANES*16-1:0] lane_frame_len;
wire [N_LANES*16-1:0] lane_map_ops;
wire [N_LANES*64-1:0] lane_redirect_meta;
reg  [N_LANES-1:0]    lane_start_c;
reg  [N_LANES-1:0]    lane_retire_c;
reg  [N_LANES-1:0]    lane_fall_c;       // done with a failed guard and another entry to try
reg  [N_LANES-1:0]    lane_fin_c;        // the frame's final done
reg  [N_LANES-1:0]    lane_gmiss_c;      // guard miss, known now or earlier
reg  [IDX_W-1:0]      lane_next_c [0:N_LANES-1];
wire [N_LANES-1:0]    lane_grant_c;
// the lanes' map ports, before the grant's multiplexer
wire [N_LANES-1:0]           lane_m_req_valid;
wire [N_LANES*3-1:0]         lane_m_req_op;
wire [N_LANES*8-1:0]         lane_m_req_map;
wire [N_LANES*MAP_KEY_W-1:0] lane_m_req_key;
wire [N_LANES*32-1:0]        lane_m_req_addr;
wire [N_LANES*64-1:0]        lane_m_req_data;
wire [N_LANES*8-1:0]         lane_m_req_be;


// the reorder queue: dispatched frames, oldest first
wire                  rob_valid;
wire [15:0]           rob_len;
wire                  rob_miss;
wire [LANE_W-1:0]     rob_lane;
reg                   rob_push_c;
reg  [LANE_W-1:0]     dispatch_lane_c;
reg                   retire_c;

jitnic_fifo #(.WIDTH(BUF_W + 16 + 1 + LANE_W), .DEPTH(N_BUFS)) u_reorder_queue (
    .clk(clk), .rst(rst),
    .in_push(rob_push_c), .in_data({dq_buf, dq_len, !dq_hit, dispatch_lane_c}),
    .out_valid(rob_valid), .out_data({rob_buf, rob_len, rob_miss, rob_lane}), .out_pop(retire_c),
    .full()
);
/* verilator lint_on PINCONNECTEMPTY */

// the frame's hand-off: tx queue, host queue (with channel), or its buffer freed (drop)
reg                   txq_push_c, hostq_push_c, eng_free_c;
reg [1:0]             hostq_chan_c;
reg [63:0]            hostq_meta_c;
reg [31:0]            retire_action;
reg [3:0]             retire_err;

// between frames for the commit engine: no frame taken and not yet retired
assign engine_idle = !lkq_valid && !dq_valid && !rob_valid && !(|lane_busy_reg);

integer l, e;
always @* begin
    // guard fall-through (jit/nic/model.py _fall_through): the lowest matching entry above the
    // one that failed, while fewer than MAX_GUARD_TRIES attempts were made
    for (l = 0; l < N_LANES; l = l + 1) begin
        lane_next_c[l] = {IDX_W{1'b0}};
        lane_fall_c[l] = 1'b0;
        for (e = N_ENTRIES - 1; e >= 0; e = e - 1) begin
            if (lane_vector_reg[l][e] && e > lane_entry_reg[l]) begin
                lane_next_c[l] = e[IDX_W-1:0];
                lane_fall_c[l] = 1'b1;
            end
        end
        lane_fall_c[l] = lane_fall_c[l] && lane_done[l] && lane_err[4*l +: 4] == `EXEC_ERR_GUARD &&
                         lane_tries_reg[l] < `JITNIC_MAX_GUARD_TRIES;
        lane_fin_c[l] = lane_done[l] && !lane_fall_c[l];
        lane_gmiss_c[l] = lane_gmiss_reg[l] ||
                          (lane_fin_c[l] && lane_err[4*l +: 4] == `EXEC_ERR_GUARD);
    end

    // retire: the oldest dispatched frame, once it is a miss or its lane has finished
    retire_action = lane_action[32*rob_lane +: 32];
    retire_err = lane_err[4*rob_lane +: 4];
    retire_hdr = lane_hdr_out[HDR_BYTES*8*rob_lane +: HDR_BYTES*8];
    retire_head = lane_head_out[HEAD_BYTES*8*rob_lane +: HEAD_BYTES*8];
    exec_cycles = lane_cyc_reg[rob_lane] + lane_cycles[32*rob_lane +: 32];
    retire_map_ops = lane_done[rob_lane] ? lane_map_ops[16*rob_lane +: 16] : lane_ops_reg[rob_lane];
    retire_c = rob_valid && (rob_miss || lane_ready_reg[rob_lane] || lane_fin_c[rob_lane]);
    lane_retire_c = {N_LANES{1'b0}};
    if (retire_c && !rob_miss) begin
        lane_retire_c[rob_lane] = 1'b1;
    end

    // dispatch: a miss needs nothing; a hit needs a lane that is free (or retiring now)
    dispatch_lane_c = {LANE_W{1'b0}};
    lane_start_c = {N_LANES{1'b0}};
    rob_push_c = 1'b0;
    for (l = N_LANES - 1; l >= 0; l = l - 1) begin
        if (!lane_busy_reg[l] || lane_retire_c[l]) begin
            dispatch_lane_c = l[LANE_W-1:0];
        end
    end
    if (dq_valid) begin
        if (!dq_hit) begin
            rob_push_c = 1'b1;
        end else if (!lane_busy_reg[dispatch_lane_c] || lane_retire_c[dispatch_lane_c]) begin
            rob_push_c = 1'b1;
            lane_start_c[dispatch_lane_c] = 1'b1;
        end
    end
end

assign dq_pop = rob_push_c;

// frames retired from the reorder queue, for MAP_TURN: a bus command starting in a cycle comes
// after the frames retired so far and the one retiring in it (its map effects are done: a lane's
// transaction closes with its final done), and before every later frame's first map access
reg [31:0] retired_reg;
assign map_turn = retired_reg + {31'd0, retire_c};
// rule 2 per frame: a frame holds bus map commands from its first map access until it retires,
// across its guard fall-through attempts (a command between two attempts would let the frame's
// first entry see the old maps and the next one the new: no single place for it among the frames)
reg [N_LANES-1:0] lane_touched_reg;
assign map_hold = |lane_txn_open || |lane_touched_reg;
always @(posedge clk) begin
    retired_reg <= rst ? 32'd0 : map_turn;
    lane_touched_reg <= rst ? {N_LANES{1'b0}} : (lane_touched_reg | lane_txn_open) & ~lane_retire_c;
end

// the lane of the oldest frame may touch maps (rule 1: map effects in arrival order); its map
// port is the one on jitnic_maps' executor port. Continuous assignments, not a loop in an
// always block: these feed the executors' and the map block's combinational inputs, where
// Icarus would propagate a loop's intermediate values (docs/rtl.md, Notes)
localparam [N_LANES-1:0] LANE_0 = 1;
wire grant_any = rob_valid && !rob_miss;
assign lane_grant_c = grant_any ? LANE_0 << rob_lane : {N_LANES{1'b0}};
assign map_ex_valid_c = grant_any && lane_m_req_valid[rob_lane];
assign map_ex_op_c = lane_m_req_op[3*rob_lane +: 3];
assign map_ex_map_c = lane_m_req_map[8*rob_lane +: 8];
assign map_ex_key_c = lane_m_req_key[MAP_KEY_W*rob_lane +: MAP_KEY_W];
assign map_ex_addr_c = lane_m_req_addr[32*rob_lane +: 32];
assign map_ex_data_c = lane_m_req_data[64*rob_lane +: 64];
assign map_ex_be_c = lane_m_req_be[8*rob_lane +: 8];

always @* begin
    txq_push_c = 1'b0;
    hostq_push_c = 1'b0;
    hostq_chan_c = `CHAN_MISS;
    hostq_meta_c = 64'd0;
    eng_free_c = 1'b0;
    win_wr_c = 1'b0;
    // a hit counts (HITS, the entry's hit counter, the policy's touch) at retire, on the entry
    // whose guards passed; a frame whose guards all failed is a miss (model.py process)
    ev_hit_c = retire_c && !rob_miss && !lane_gmiss_c[rob_lane];
    ev_hit_index_c = lane_entry_reg[rob_lane];
    cnt_inc = {`N_COUNTERS{1'b0}};
    cnt_inc[`CNT_RX_PACKETS] = ev_frame;
    cnt_inc[`CNT_RUNTS] = ev_runt;
    cnt_inc[`CNT_OVERSIZE] = ev_oversize;
    cnt_inc[`CNT_RX_DROPS] = ev_rx_drop;
    cnt_inc[`CNT_RX_ERRORS] = ev_rx_error;
    cnt_inc[`CNT_RX_MALFORMED] = ev_malformed;
    cnt_inc[`CNT_HOST_TX] = ev_host_tx;
    cnt_inc[`CNT_HITS] = ev_hit_c;

    if (retire_c) begin
        if (rob_miss) begin
            cnt_inc[`CNT_MISSES] = 1'b1;
            hostq_push_c = 1'b1;
            hostq_chan_c = `CHAN_MISS;
        end else begin
            cnt_inc[`CNT_EXEC_CYCLES] = 1'b1;
            if (lane_gmiss_c[rob_lane]) begin
                cnt_inc[`CNT_MISSES] = 1'b1;
                cnt_inc[`CNT_GUARD_MISSES] = 1'b1;
                hostq_push_c = 1'b1;
                hostq_chan_c = `CHAN_MISS;          // original window: not written back
            end else if (retire_err != `EXEC_ERR_NONE) begin
                cnt_inc[`CNT_EXEC_ERRORS] = 1'b1;
                hostq_push_c = 1'b1;
                hostq_chan_c = `CHAN_EXEC_ERROR;     // original window: not written back
            end else begin
                case (retire_action)
                    `XDP_TX: begin
                        cnt_inc[`CNT_TX] = 1'b1;
                        txq_push_c = 1'b1;
                    end
                    `XDP_PASS: begin
                        cnt_inc[`CNT_PASSES] = 1'b1;
                        hostq_push_c = 1'b1;
                        hostq_chan_c = `CHAN_PASS;
                    end
                    `XDP_REDIRECT: begin
                        cnt_inc[`CNT_REDIRECTS] = 1'b1;
                        hostq_push_c = 1'b1;
                        hostq_chan_c = `CHAN_REDIRECT;
                        hostq_meta_c = lane_done[rob_lane] ?
                            lane_redirect_meta[64*rob_lane +: 64] : lane_meta_reg[rob_lane];
                    end
                    `XDP_DROP: begin
                        cnt_inc[`CNT_DROPS] = 1'b1;
                        eng_free_c = 1'b1;
                    end
                    default: begin                     // XDP_ABORTED or unknown
                        cnt_inc[`CNT_ABORTS] = 1'b1;
                        eng_free_c = 1'b1;
                    end
                endcase
                // the frame leaves with the trace's window (egress reads it from the buffer)
                win_wr_c = txq_push_c || hostq_push_c;
                cnt_inc[`CNT_MAP_OPS] = 1'b1;      // adds retire_map_ops
            end
        end
    end
end

integer k;
always @(posedge clk) begin
    lane_busy_reg <= (lane_busy_reg & ~lane_retire_c) | lane_start_c;
    lane_ready_reg <= (lane_ready_reg | lane_fin_c) & ~lane_retire_c;
    lane_gmiss_reg <= lane_gmiss_c & ~lane_retire_c;
    lane_retry_reg <= lane_fall_c;
    for (k = 0; k < N_LANES; k = k + 1) begin
        if (lane_start_c[k]) begin
            lane_entry_reg[k] <= dq_entry;
            lane_buf_reg[k] <= dq_buf;
            lane_vector_reg[k] <= dq_vector;
            lane_tries_reg[k] <= {{(TRY_W-1){1'b0}}, 1'b1};
            lane_cyc_reg[k] <= 32'd0;
        end
        if (lane_fall_c[k]) begin
            lane_entry_reg[k] <= lane_next_c[k];
            lane_tries_reg[k] <= lane_tries_reg[k] + 1'b1;
            lane_cyc_reg[k] <= lane_cyc_reg[k] + lane_cycles[32*k +: 32];
        end
        if (lane_done[k]) begin
            lane_ops_reg[k] <= lane_map_ops[16*k +: 16];
            lane_meta_reg[k] <= lane_redirect_meta[64*k +: 64];
        end
    end
    if (rst) begin
        lane_busy_reg <= {N_LANES{1'b0}};
        lane_ready_reg <= {N_LANES{1'b0}};
        lane_gmiss_reg <= {N_LANES{1'b0}};
        lane_retry_reg <= {N_LANES{1'b0}};
    end
end

jitnic_match #(
    .N_ENTRIES(N_ENTRIES), .HDR_BYTES(HDR_BYTES), .N_SLOTS(N_SLOTS), .N_LEN_ATOMS(N_LEN_ATOMS),
    .N_GEN_ATOMS(N_GEN_ATOMS), .TAG_W(BUF_W)
) u_match (
    .clk(clk), .rst(rst),
    .wr_clear(entry_wr_en), .wr_atom(atom_wr_en), .wr_index(entry_wr_index),
    .wr_cell(atom_wr_cell), .wr_slot(atom_wr_slot), .wr_atom_words(atom_wr_words),
    .slot_fields(slot_fields),
    .entry_valid(entry_valid),
    .lookup_start(match_start_c), .lookup_hdr(lookup_hdr), .lookup_len(lookup_len),
    .lookup_tag(lookup_buf),
    .lookup_done(lookup_done), .lookup_done_tag(lookup_done_buf), .lookup_hit(lookup_hit),
    .lookup_index(lookup_index), .lookup_vector(lookup_vector)
);

genvar g;
generate
    for (g = 0; g < N_LANES; g = g + 1) begin : g_lane
        wire [SLOT_W-1:0] slot_addr;
        wire [63:0]       slot_data;
        /* verilator lint_off UNUSEDSIGNAL */
        wire [SLOT_W-1:0] dbg_pc;
        wire [63:0]       dbg_insn;
        /* verilator lint_on UNUSEDSIGNAL */
        // slot 0 of the entry being started is read in the start cycle (PREFETCH); at a retry,
        // lane_entry_reg already names the next entry
        wire [IDX_W-1:0]  entry = lane_start_c[g] ? dq_entry : lane_entry_reg[g];

        // trace memory: entry e, slot s at {e, s}; written by commits, one copy per lane
        jitnic_ram #(.DATA_W(64), .ADDR_W(IDX_W + SLOT_W)) u_trace_ram (
            .clk(clk),
            .wr_en(trace_wr_en), .wr_be(8'hff), .wr_addr(trace_wr_addr), .wr_data(trace_wr_data),
            .rd_en(1'b1), .rd_addr({entry, slot_addr}), .rd_data(slot_data)
        );

        jitnic_exec #(
            .MAX_TRACE_LEN(MAX_TRACE_LEN), .HDR_BYTES(HDR_BYTES), .PKT_BYTES(PKT_BYTES), .PREFETCH(1)
        ) u_exec (
            .clk(clk), .rst(rst),
            .start(lane_start_c[g]), .pkt_len(dq_len), .hdr_in(dispatch_hdr),
            .slot_addr(slot_addr), .slot_data(slot_data),
            .pkt_rd_en(lane_pkt_rd_en[g]), .pkt_rd_addr(lane_pkt_rd_addr[g*PKT_ADDR_W +: PKT_ADDR_W]),
            .pkt_rd_data(lane_pkt_rd_data[g*64 +: 64]),
            .done(lane_done[g]), .action(lane_action[g*32 +: 32]), .err(lane_err[g*4 +: 4]),
            .hdr_out(lane_hdr_out[g*HDR_BYTES*8 +: HDR_BYTES*8]),
            .cycles(lane_cycles[g*32 +: 32]), .dbg_pc(dbg_pc), .dbg_insn(dbg_insn),
            .trace_len(tlen_mem[entry]), .retry(lane_retry_reg[g]),
            .m_req_valid(lane_m_req_valid[g]), .m_req_ready(map_ex_ready && lane_grant_c[g]),
            .m_req_op(lane_m_req_op[3*g +: 3]), .m_req_map(lane_m_req_map[8*g +: 8]),
            .m_req_key(lane_m_req_key[MAP_KEY_W*g +: MAP_KEY_W]),
            .m_req_addr(lane_m_req_addr[32*g +: 32]), .m_req_data(lane_m_req_data[64*g +: 64]),
            .m_req_be(lane_m_req_be[8*g +: 8]),
            .m_resp_valid(map_ex_resp_valid && lane_grant_c[g]), .m_resp_ok(map_ex_resp_ok),
            .m_resp_addr(map_ex_resp_addr), .m_resp_data(map_ex_resp_data),
            .m_grant(lane_grant_c[g]), .m_txn_open(lane_txn_open[g]),
            .prandom_state(prandom_reg), .prandom_we(lane_prandom_we[g]),
            .prandom_next(lane_prandom_next[32*g +: 32]),
            .redirect_meta(lane_redirect_meta[64*g +: 64]), .map_ops(lane_map_ops[16*g +: 16]),
            .pkt_ts(buf_ts_mem[dq_buf]),
            .head_out(lane_head_out[HEAD_BYTES*8*g +: HEAD_BYTES*8]),
            .frame_off(lane_frame_off[16*g +: 16]), .frame_len(lane_frame_len[16*g +: 16])
        );

        assign lane_buf_flat[g*BUF_W +: BUF_W] = lane_buf_reg[g];
    end
endgenerate

// ---- egress ------------------------------------------------------------------------------------
// a frame that leaves after exit leaves as the trace moved it; misses, guard misses and faults
// leave as received (only such a hit writes its window back, win_wr_c)
wire retire_moved = !rob_miss && !lane_gmiss_c[rob_lane] && retire_err == `EXEC_ERR_NONE;
assign retire_off = retire_moved ? lane_frame_off[16*rob_lane +: 16] : FRAME_OFF;
assign retire_len = retire_moved ? lane_frame_len[16*rob_lane +: 16] : rob_len;

wire             txq_free, hostq_free;
wire [BUF_W-1:0] txq_free_buf, hostq_free_buf;

jitnic_tx #(
    .DATA_WIDTH(DATA_WIDTH), .N_BUFS(N_BUFS), .WORD_W(QWORD_W)
) u_tx (
    .clk(clk), .rst(rst),
    .txq_push(txq_push_c), .txq_buf(rob_buf), .txq_len(retire_len), .txq_off(retire_off),
    .hostq_push(hostq_push_c), .hostq_buf(rob_buf), .hostq_len(retire_len), .hostq_off(retire_off),
    .hostq_chan(hostq_chan_c), .hostq_meta(hostq_meta_c),
    .txq_rd_en(txq_rd_en), .txq_rd_buf(txq_rd_buf), .txq_rd_word(txq_rd_word), .txq_rd_data(txq_rd_data),
    .hostq_rd_en(hostq_rd_en), .hostq_rd_buf(hostq_rd_buf), .hostq_rd_word(hostq_rd_word),
    .hostq_rd_data(hostq_rd_data),
    .txq_free(txq_free), .txq_free_buf(txq_free_buf),
    .hostq_free(hostq_free), .hostq_free_buf(hostq_free_buf),
    .tx_data(tx_data), .tx_valid(tx_valid), .tx_ready(tx_ready),
    .tx_startofpacket(tx_startofpacket), .tx_endofpacket(tx_endofpacket), .tx_empty(tx_empty),
    .host_data(host_data), .host_valid(host_valid), .host_ready(host_ready),
    .host_startofpacket(host_startofpacket), .host_endofpacket(host_endofpacket),
    .host_empty(host_empty), .host_channel(host_channel), .host_meta(host_meta),
    .host_tx_data(host_tx_data), .host_tx_valid(host_tx_valid), .host_tx_ready(host_tx_ready),
    .host_tx_startofpacket(host_tx_startofpacket), .host_tx_endofpacket(host_tx_endofpacket),
    .host_tx_empty(host_tx_empty),
    .ev_host_tx(ev_host_tx)
);

// buffers come back from rx (a dropped frame), the engine (a dropped hit) and both queues
function [N_BUFS-1:0] onehot(input en, input [BUF_W-1:0] index);
    begin
        onehot = en ? ({{N_BUFS-1{1'b0}}, 1'b1} << index) : {N_BUFS{1'b0}};
    end
endfunction

assign buf_release_mask = onehot(rx_release, rx_rel_buf) | onehot(eng_free_c, rob_buf) |
                          onehot(txq_free, txq_free_buf) | onehot(hostq_free, hostq_free_buf);

/* verilator lint_off UNUSEDSIGNAL */
// for waveforms only
wire [N_ENTRIES-1:0] dbg_match_vector = lookup_vector;
wire [3:0]           dbg_commit_state = commit_state;
wire [N_BUFS-1:0]    dbg_bufs_busy = bufs_busy;
/* verilator lint_on UNUSEDSIGNAL */

initial begin
    if (POLICY != P_LRU && POLICY != P_FIFO && POLICY != P_RANDOM && POLICY != "plru") begin
        $display("Error: unknown POLICY \"%0s\" (instance %m)", POLICY);
        $finish;
    end
    if (N_BUFS < 2 || (N_BUFS & (N_BUFS - 1)) != 0) begin
        $display("Error: N_BUFS must be a power of two >= 2, got %0d (instance %m)", N_BUFS);
        $finish;
    end
    if (N_LANES < 1 || N_LANES > 16) begin
        $display("Error: N_LANES must be in 1..16, got %0d (instance %m)", N_LANES);
        $finish;
    end
    if (N_SLOTS < 1 || N_SLOTS > 64) begin
        $display("Error: N_SLOTS must be in 1..64, got %0d (instance %m)", N_SLOTS);
        $finish;
    end
    if (MAX_TRACE_LEN < 2 || MAX_TRACE_LEN > 1024) begin
        $display("Error: MAX_TRACE_LEN must be in 2..1024, got %0d (instance %m)", MAX_TRACE_LEN);
        $finish;
    end
end

endmodule

`resetall
