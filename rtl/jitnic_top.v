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
 * jitnic_tx (or frees the buffer of a dropped frame). Each queue reads its frames from the
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
    input  wire                   s_axil_rready
);

localparam IDX_W = N_ENTRIES > 1 ? $clog2(N_ENTRIES) : 1;
localparam SLOT_W = $clog2(MAX_TRACE_LEN);
localparam NATOMS_W = $clog2(MAX_ATOMS + 1);
localparam BUF_W = $clog2(N_BUFS);
localparam PKT_ADDR_W = $clog2(PKT_BYTES / 8);

localparam [63:0] P_LRU = "lru";
localparam [63:0] P_FIFO = "fifo";
localparam [63:0] P_RANDOM = "random";
localparam POLICY_CODE = POLICY == P_LRU ? 0 : POLICY == P_FIFO ? 1 : POLICY == P_RANDOM ? 2 : 3;

// ---- ingress and packet buffers ---------------------------------------------------------------
localparam BPB = DATA_WIDTH / 8;
localparam PKT_WORDS = PKT_BYTES / BPB;
localparam WORD_W = PKT_WORDS > 1 ? $clog2(PKT_WORDS) : 1;

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

wire                   exec_pkt_rd_en;
wire [PKT_ADDR_W-1:0]  exec_pkt_rd_addr;
wire [63:0]            exec_pkt_rd_data;
reg  [BUF_W-1:0]       eng_buf_reg;
wire [BUF_W-1:0]       lookup_buf;
wire [HDR_BYTES*8-1:0] lookup_hdr;
wire [HDR_BYTES*8-1:0] eng_hdr;
reg                    win_wr_c;
wire [HDR_BYTES*8-1:0] exec_hdr_out;
wire                   txq_rd_en, hostq_rd_en;
wire [BUF_W-1:0]       txq_rd_buf, hostq_rd_buf;
wire [WORD_W-1:0]      txq_rd_word, hostq_rd_word;
wire [DATA_WIDTH-1:0]  txq_rd_data, hostq_rd_data;

jitnic_pktbuf #(
    .DATA_WIDTH(DATA_WIDTH), .HDR_BYTES(HDR_BYTES), .PKT_BYTES(PKT_BYTES), .N_BUFS(N_BUFS)
) u_bufs (
    .clk(clk), .rst(rst),
    .free_any(buf_avail), .free_buf(buf_free_idx), .alloc(buf_alloc),
    .release_mask(buf_release_mask), .busy(bufs_busy),
    .wr_en(rx_wr_en), .wr_first(rx_wr_first), .wr_buf(rx_wr_buf), .wr_word(rx_wr_word),
    .wr_data(rx_wr_data),
    .win_a_buf(lookup_buf), .win_a(lookup_hdr),
    .win_b_buf(eng_buf_reg), .win_b(eng_hdr),
    .win_wr_en(win_wr_c), .win_wr_buf(eng_buf_reg), .win_wr_data(exec_hdr_out),
    .exec_rd_en(exec_pkt_rd_en), .exec_rd_buf(eng_buf_reg), .exec_rd_addr(exec_pkt_rd_addr),
    .exec_rd_data(exec_pkt_rd_data),
    .q0_rd_en(txq_rd_en), .q0_rd_buf(txq_rd_buf), .q0_rd_word(txq_rd_word), .q0_rd_data(txq_rd_data),
    .q1_rd_en(hostq_rd_en), .q1_rd_buf(hostq_rd_buf), .q1_rd_word(hostq_rd_word),
    .q1_rd_data(hostq_rd_data)
);

// ---- control block -----------------------------------------------------------------------------
wire                     entry_wr_en;
wire [IDX_W-1:0]         entry_wr_index;
wire [NATOMS_W-1:0]      entry_wr_natoms;
wire [MAX_ATOMS*96-1:0]  entry_wr_atoms;
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
wire [31:0]              exec_cycles;
wire [2:0]               commit_state;

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
    .HDR_BYTES(HDR_BYTES), .PKT_BYTES(PKT_BYTES), .POLICY_CODE(POLICY_CODE)
) u_regs (
    .clk(clk), .rst(rst),
    .s_axil_awaddr(s_axil_awaddr), .s_axil_awprot(s_axil_awprot), .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready), .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready), .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready), .s_axil_araddr(s_axil_araddr),
    .s_axil_arprot(s_axil_arprot), .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp), .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .entry_wr_en(entry_wr_en), .entry_wr_index(entry_wr_index), .entry_wr_natoms(entry_wr_natoms),
    .entry_wr_atoms(entry_wr_atoms),
    .trace_wr_en(trace_wr_en), .trace_wr_addr(trace_wr_addr), .trace_wr_data(trace_wr_data),
    .entry_valid(entry_valid),
    .engine_hold(engine_hold), .engine_idle(engine_idle),
    .pol_fill_valid(pol_fill_valid), .pol_fill_index(pol_fill_index), .pol_fill_evict(pol_fill_evict),
    .pol_invalidate_all(pol_invalidate_all), .pol_seed_valid(pol_seed_valid), .pol_seed(pol_seed),
    .pol_victim(pol_victim),
    .cnt_inc(cnt_inc), .cnt_exec_cycles(exec_cycles),
    .hit_valid(ev_hit_c), .hit_index(ev_hit_index_c),
    .map_reg_wr(map_reg_wr), .map_reg_waddr(map_reg_waddr), .map_reg_wdata(map_reg_wdata),
    .map_reg_wstrb(map_reg_wstrb), .map_reg_rd(map_reg_rd), .map_reg_raddr(map_reg_raddr),
    .map_reg_rdata(map_reg_rdata), .map_busy(map_busy),
    .dbg_commit_state(commit_state)
);

// ---- NIC map memory (jitnic_maps): control-bus map region; the executor port is not connected
// yet (the executor's map operations are issue 10's executor work), so it idles
/* verilator lint_off UNUSEDSIGNAL */
wire        map_ex_ready, map_ex_resp_valid, map_ex_resp_ok;
wire [31:0] map_ex_resp_addr;
wire [63:0] map_ex_resp_data;
/* verilator lint_on UNUSEDSIGNAL */

jitnic_maps u_maps (
    .clk(clk), .rst(rst),
    .reg_wr(map_reg_wr), .reg_waddr(map_reg_waddr), .reg_wdata(map_reg_wdata),
    .reg_wstrb(map_reg_wstrb), .reg_rd(map_reg_rd), .reg_raddr(map_reg_raddr),
    .reg_rdata(map_reg_rdata), .busy(map_busy),
    .ex_txn_open(1'b0), .ex_req_valid(1'b0), .ex_req_ready(map_ex_ready), .ex_req_op(3'd0),
    .ex_req_map(8'd0), .ex_req_key({`JITNIC_MAP_MAX_KEY_BYTES*8{1'b0}}), .ex_req_addr(32'd0),
    .ex_req_data(64'd0), .ex_req_be(8'd0), .ex_resp_valid(map_ex_resp_valid),
    .ex_resp_ok(map_ex_resp_ok), .ex_resp_addr(map_ex_resp_addr), .ex_resp_data(map_ex_resp_data)
);

jitnic_policy #(.POLICY(POLICY), .N_ENTRIES(N_ENTRIES)) u_policy (
    .clk(clk), .rst(rst),
    .touch_valid(ev_hit_c), .touch_index(ev_hit_index_c),
    .fill_valid(pol_fill_valid), .fill_index(pol_fill_index), .fill_evict(pol_fill_evict),
    .invalidate_all(pol_invalidate_all), .seed_valid(pol_seed_valid), .seed(pol_seed),
    .victim(pol_victim)
);

// ---- packet engine: match, execute, route --------------------------------------------------------
localparam [1:0]
    E_IDLE  = 2'd0,   // waiting for a received frame (and not held by a commit)
    E_MATCH = 2'd1,   // lookup in flight
    E_EXEC  = 2'd2;   // trace running

reg [1:0]             eng_state_reg, eng_state_next;
reg [15:0]            eng_len_reg, eng_len_next;
reg [BUF_W-1:0]       eng_buf_next;
reg [IDX_W-1:0]       eng_entry_reg, eng_entry_next;
reg                   match_start_c;
reg                   exec_start_c;
// the frame's hand-off: tx queue, host queue (with channel), or its buffer freed (drop)
reg                   txq_push_c, hostq_push_c, eng_free_c;
reg [1:0]             hostq_chan_c;

wire                  lookup_done;
wire                  lookup_hit;
wire [IDX_W-1:0]      lookup_index;
wire [N_ENTRIES-1:0]  lookup_vector;

wire                  exec_done;
wire [31:0]           exec_action;
wire [3:0]            exec_err;
wire [SLOT_W-1:0]     exec_slot_addr;
wire [63:0]           exec_slot_data;
wire [SLOT_W-1:0]     exec_dbg_pc;
wire [63:0]           exec_dbg_insn;

assign rxd_ready = eng_state_reg == E_IDLE && !engine_hold;
// between frames for the commit engine: no lookup or trace in flight
assign engine_idle = eng_state_reg == E_IDLE;

always @* begin
    eng_state_next = eng_state_reg;
    eng_len_next = eng_len_reg;
    eng_buf_next = eng_buf_reg;
    eng_entry_next = eng_entry_reg;
    match_start_c = 1'b0;
    exec_start_c = 1'b0;
    txq_push_c = 1'b0;
    hostq_push_c = 1'b0;
    hostq_chan_c = `CHAN_MISS;
    eng_free_c = 1'b0;
    win_wr_c = 1'b0;
    ev_hit_c = 1'b0;
    ev_hit_index_c = lookup_index;
    cnt_inc = {`N_COUNTERS{1'b0}};
    cnt_inc[`CNT_RX_PACKETS] = ev_frame;
    cnt_inc[`CNT_RUNTS] = ev_runt;
    cnt_inc[`CNT_OVERSIZE] = ev_oversize;
    cnt_inc[`CNT_RX_DROPS] = ev_rx_drop;
    cnt_inc[`CNT_RX_ERRORS] = ev_rx_error;
    cnt_inc[`CNT_RX_MALFORMED] = ev_malformed;
    cnt_inc[`CNT_HOST_TX] = ev_host_tx;

    case (eng_state_reg)
        E_IDLE: begin
            if (rxd_valid && rxd_ready) begin
                eng_len_next = rxd_len;
                eng_buf_next = rxd_buf;
                match_start_c = 1'b1;             // the lookup reads the queued frame's window now
                eng_state_next = E_MATCH;
            end
        end
        E_MATCH: begin
            if (lookup_done) begin
                if (lookup_hit) begin
                    ev_hit_c = 1'b1;
                    cnt_inc[`CNT_HITS] = 1'b1;
                    eng_entry_next = lookup_index;   // trace RAM address from the next cycle,
                    exec_start_c = 1'b1;             // when the executor fetches slot 0
                    eng_state_next = E_EXEC;
                end else begin
                    cnt_inc[`CNT_MISSES] = 1'b1;
                    hostq_push_c = 1'b1;
                    hostq_chan_c = `CHAN_MISS;
                    eng_state_next = E_IDLE;
                end
            end
        end
        E_EXEC: begin
            if (exec_done) begin
                cnt_inc[`CNT_EXEC_CYCLES] = 1'b1;
                eng_state_next = E_IDLE;
                if (exec_err != `EXEC_ERR_NONE) begin
                    cnt_inc[`CNT_EXEC_ERRORS] = 1'b1;
                    hostq_push_c = 1'b1;
                    hostq_chan_c = `CHAN_EXEC_ERROR;     // original window: not written back
                end else begin
                    case (exec_action)
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
                end
            end
        end
        default: eng_state_next = E_IDLE;
    endcase
end

always @(posedge clk) begin
    eng_state_reg <= eng_state_next;
    eng_len_reg <= eng_len_next;
    eng_buf_reg <= eng_buf_next;
    eng_entry_reg <= eng_entry_next;
    if (rst) begin
        eng_state_reg <= E_IDLE;
        eng_len_reg <= 16'd0;
        eng_buf_reg <= {BUF_W{1'b0}};
        eng_entry_reg <= {IDX_W{1'b0}};
    end
end

// The lookup starts in the cycle the engine takes a frame, on the queued frame's window; while
// no frame is queued the match sees the engine's frame, so it is not re-evaluated needlessly.
assign lookup_buf = rxd_valid ? rxd_buf : eng_buf_reg;
wire [15:0] lookup_len = rxd_valid ? rxd_len : eng_len_reg;

jitnic_match #(
    .N_ENTRIES(N_ENTRIES), .MAX_ATOMS(MAX_ATOMS), .HDR_BYTES(HDR_BYTES)
) u_match (
    .clk(clk), .rst(rst),
    .wr_en(entry_wr_en), .wr_index(entry_wr_index), .wr_natoms(entry_wr_natoms),
    .wr_atoms(entry_wr_atoms),
    .entry_valid(entry_valid),
    .lookup_start(match_start_c), .lookup_hdr(lookup_hdr), .lookup_len(lookup_len),
    .lookup_done(lookup_done), .lookup_hit(lookup_hit), .lookup_index(lookup_index),
    .lookup_vector(lookup_vector)
);

// trace memory: entry e, slot s at {e, s}; written by commits, read by the executor
jitnic_ram #(.DATA_W(64), .ADDR_W(IDX_W + SLOT_W)) u_trace_ram (
    .clk(clk),
    .wr_en(trace_wr_en), .wr_be(8'hff), .wr_addr(trace_wr_addr), .wr_data(trace_wr_data),
    .rd_en(1'b1), .rd_addr({eng_entry_reg, exec_slot_addr}), .rd_data(exec_slot_data)
);

jitnic_exec #(
    .MAX_TRACE_LEN(MAX_TRACE_LEN), .HDR_BYTES(HDR_BYTES), .PKT_BYTES(PKT_BYTES)
) u_exec (
    .clk(clk), .rst(rst),
    .start(exec_start_c), .pkt_len(eng_len_reg), .hdr_in(eng_hdr),
    .slot_addr(exec_slot_addr), .slot_data(exec_slot_data),
    .pkt_rd_en(exec_pkt_rd_en), .pkt_rd_addr(exec_pkt_rd_addr), .pkt_rd_data(exec_pkt_rd_data),
    .done(exec_done), .action(exec_action), .err(exec_err), .hdr_out(exec_hdr_out),
    .cycles(exec_cycles), .dbg_pc(exec_dbg_pc), .dbg_insn(exec_dbg_insn)
);

// ---- egress ------------------------------------------------------------------------------------
wire             txq_free, hostq_free;
wire [BUF_W-1:0] txq_free_buf, hostq_free_buf;

jitnic_tx #(
    .DATA_WIDTH(DATA_WIDTH), .N_BUFS(N_BUFS), .WORD_W(WORD_W)
) u_tx (
    .clk(clk), .rst(rst),
    .txq_push(txq_push_c), .txq_buf(eng_buf_reg), .txq_len(eng_len_reg),
    .hostq_push(hostq_push_c), .hostq_buf(eng_buf_reg), .hostq_len(eng_len_reg),
    .hostq_chan(hostq_chan_c),
    .txq_rd_en(txq_rd_en), .txq_rd_buf(txq_rd_buf), .txq_rd_word(txq_rd_word), .txq_rd_data(txq_rd_data),
    .hostq_rd_en(hostq_rd_en), .hostq_rd_buf(hostq_rd_buf), .hostq_rd_word(hostq_rd_word),
    .hostq_rd_data(hostq_rd_data),
    .txq_free(txq_free), .txq_free_buf(txq_free_buf),
    .hostq_free(hostq_free), .hostq_free_buf(hostq_free_buf),
    .tx_data(tx_data), .tx_valid(tx_valid), .tx_ready(tx_ready),
    .tx_startofpacket(tx_startofpacket), .tx_endofpacket(tx_endofpacket), .tx_empty(tx_empty),
    .host_data(host_data), .host_valid(host_valid), .host_ready(host_ready),
    .host_startofpacket(host_startofpacket), .host_endofpacket(host_endofpacket),
    .host_empty(host_empty), .host_channel(host_channel),
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

assign buf_release_mask = onehot(rx_release, rx_rel_buf) | onehot(eng_free_c, eng_buf_reg) |
                          onehot(txq_free, txq_free_buf) | onehot(hostq_free, hostq_free_buf);

/* verilator lint_off UNUSEDSIGNAL */
// for waveforms only
wire [N_ENTRIES-1:0] dbg_match_vector = lookup_vector;
wire [SLOT_W-1:0]    dbg_exec_pc = exec_dbg_pc;
wire [63:0]          dbg_exec_insn = exec_dbg_insn;
wire [2:0]           dbg_commit_state = commit_state;
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
    if (MAX_TRACE_LEN < 2 || MAX_TRACE_LEN > 1024) begin
        $display("Error: MAX_TRACE_LEN must be in 2..1024, got %0d (instance %m)", MAX_TRACE_LEN);
        $finish;
    end
end

endmodule

`resetall
