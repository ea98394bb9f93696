`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC straight-line trace executor: fetch, decode, register file, sequencing (docs/exec.md).

`include "jitnic_abi.vh"

/*
 * Runs one trace (eBPF with forward jumps, docs/abi.md "Trace words" and "Trace format v2") on
 * one frame per `start` (or `retry`) pulse
 * and answers with exactly one `done` pulse: `err` = EXEC_ERR_NONE and `action` = r0[31:0] at
 * `exit`, or the fault code. `start` is ignored while a run is in progress.
 *
 * Fetch runs one slot ahead: while the instruction at pc executes from `slot_data`, `slot_addr`
 * already holds pc + 1, and it stays there while a multi-cycle instruction finishes, so the next
 * instruction is waiting when the current one completes. Costs (cycles per instruction): ALU,
 * ALU64, byte swaps, stores, exit 1; LD_IMM64 2; loads 2 (3 when two words come from the packet
 * RAM); div/mod 34 (32-bit) or 66 (64-bit), 2 by zero; jumps 1 not taken, 2 taken (the target
 * is fetched), 1 to the guard exit. Plus 1 cycle of fetch after `start`
 * (none with PREFETCH, where slot 0 is read in the start cycle), and `done` one cycle after the
 * last instruction. See docs/exec.md.
 *
 * Memory: the header window is a register copy of `hdr_in` taken at `start` (stores write it,
 * `hdr_out` shows it) behind a head margin of NIC_HEADROOM zero bytes (bpf_xdp_adjust_head grows
 * the frame into it; `head_out` shows it); packet bytes at/after HDR_BYTES come through the packet
 * RAM read port. Packet addresses are checked against the run's data/data_end, which
 * bpf_xdp_adjust_head/tail move (`frame_off`/`frame_len` give the frame that leaves); the
 * 512-byte stack is two 32 x 64-bit RAM banks (even/odd words, so an unaligned access reads both
 * of its words at once) plus one "written" bit per word that makes never-written words read as 0,
 * as if the stack were cleared at every start. Address checks live in jitnic_memunit, ALU
 * operations in jitnic_alu, division in jitnic_div.
 */
module jitnic_exec #(
    parameter MAX_TRACE_LEN = 64,                 // trace slots (2..); pc >= MAX_TRACE_LEN is FELL_OFF
    parameter HDR_BYTES = 128,                    // writable header window in bytes (multiple of 8)
    parameter PKT_BYTES = 2048,                   // packet buffer in bytes (multiple of 8, >= HDR_BYTES, >= 16)
    // 1: slot_addr is 0 while idle, so the caller's trace RAM reads slot 0 in the start cycle
    // (addressed with the entry being started) and execution begins the cycle after start,
    // without a fetch cycle; 0: slot 0 is fetched after start (one cycle more per run)
    parameter PREFETCH = 0,
    parameter SLOT_W = clog2(MAX_TRACE_LEN),      // slot address width (derived)
    parameter PKT_ADDR_W = clog2(PKT_BYTES / 8)   // packet RAM word address width (derived)
) (
    input  wire                   clk,
    input  wire                   rst,

    // control
    input  wire                   start,       // pulse: run the selected trace on the current frame
    input  wire [15:0]            pkt_len,     // frame length in bytes (<= PKT_BYTES), sampled at start
    input  wire [HDR_BYTES*8-1:0] hdr_in,      // frame bytes 0..HDR_BYTES-1 (byte k at [8k+7:8k]), sampled at start
    input  wire [SLOT_W:0]        trace_len,   // slots of the trace, sampled at start and retry: a jump to it is the guard exit
    input  wire                   retry,       // pulse (idle): run again on the frame of the last start (after a GUARD done)

    // trace read port (synchronous: slot_data is the slot addressed in the previous cycle)
    output wire [SLOT_W-1:0]      slot_addr,
    input  wire [63:0]            slot_data,   // {imm, off, src, dst, opcode}

    // packet RAM read port (synchronous, 64-bit words, word w = frame bytes 8w..8w+7)
    output wire                   pkt_rd_en,
    output wire [PKT_ADDR_W-1:0]  pkt_rd_addr,
    input  wire [63:0]            pkt_rd_data,

    // result
    output wire                   done,        // pulse: the run is over
    output wire [31:0]            action,      // r0[31:0] at exit (0 after a fault)
    output wire [3:0]             err,         // `EXEC_ERR_*; EXEC_ERR_NONE after exit
    output wire [HDR_BYTES*8-1:0] hdr_out,     // the header window as the trace left it
    output wire [31:0]            cycles,      // start-to-done cycles of the last run

    // map port (jitnic_maps' ex_* port, docs/exec.md "Map port"); requests only while m_grant
    output wire                   m_req_valid,
    input  wire                   m_req_ready,
    output wire [2:0]             m_req_op,
    output wire [7:0]             m_req_map,
    output wire [`JITNIC_MAP_MAX_KEY_BYTES*8-1:0] m_req_key,
    output wire [31:0]            m_req_addr,
    output wire [63:0]            m_req_data,
    output wire [7:0]             m_req_be,
    input  wire                   m_resp_valid,
    input  wire                   m_resp_ok,
    input  wire [31:0]            m_resp_addr,
    input  wire [63:0]            m_resp_data,
    input  wire                   m_grant,     // this lane may touch maps and prandom (oldest frame)
    output wire                   m_txn_open,  // first map request .. end of commit or discard

    // bpf_get_prandom_u32: the NIC's LFSR state in, the state after this run's draws out
    input  wire [31:0]            prandom_state,
    output wire                   prandom_we,  // with done: a committing run drew at least once
    output wire [31:0]            prandom_next,
    output wire [63:0]            redirect_meta, // with done: encoding.redirect_meta of the run
    output wire [15:0]            map_ops,     // with done: map operations (Counter.MAP_OPS)

    // debug (waveforms)
    output wire [SLOT_W-1:0]      dbg_pc,      // slot of the instruction in flight
    output wire [63:0]            dbg_insn,    // the instruction in flight

    // bpf_ktime_get_ns: the frame's timestamp (ns, the capture time), sampled at start
    input  wire [63:0]            pkt_ts,
    // bpf_xdp_adjust_head/tail (valid from done until the next start, like hdr_out): the head
    // margin as the trace left it, and the frame that leaves: its first byte's position (the
    // margin starts at 0, an unmoved frame at NIC_HEADROOM) and its length
    output wire [`JITNIC_NIC_HEADROOM*8-1:0] head_out,
    output wire [15:0]            frame_off,
    output wire [15:0]            frame_len
);

function integer clog2;
    input integer value;
    integer v;
    begin
        v = value - 1;
        for (clog2 = 0; v > 0; clog2 = clog2 + 1) begin
            v = v >> 1;
        end
    end
endfunction

localparam PC_W = SLOT_W + 1;                           // pc counts up to MAX_TRACE_LEN
// packet words are counted from the start of the head margin: window words (margin, then the
// header window) below WIN_WORDS, packet RAM word w - HEAD_WORDS after
localparam HEAD = `JITNIC_NIC_HEADROOM;
localparam HEAD_WORDS = HEAD / 8;
localparam [15:0] HEAD16 = HEAD;
localparam HDR_WORDS = HDR_BYTES / 8;
localparam WIN_WORDS = HEAD_WORDS + HDR_WORDS;
localparam POS_W = clog2((HEAD + PKT_BYTES) / 8);
localparam WORD_W = POS_W > 6 ? POS_W : 6;              // packet and stack word indices
localparam [31:0] PC_END = MAX_TRACE_LEN;

initial begin
    if (MAX_TRACE_LEN < 2 || (1 << SLOT_W) < MAX_TRACE_LEN) begin
        $display("Error: MAX_TRACE_LEN must be >= 2 and fit in SLOT_W bits (instance %m)");
        $finish;
    end
    if (HDR_BYTES < 8 || HDR_BYTES % 8 != 0 || PKT_BYTES % 8 != 0 || PKT_BYTES < HDR_BYTES
            || PKT_BYTES < 16 || PKT_BYTES > 65536) begin
        $display("Error: need 8 <= HDR_BYTES <= PKT_BYTES, 16 <= PKT_BYTES <= 65536, multiples of 8 (instance %m)");
        $finish;
    end
    if (PREFETCH != 0 && PREFETCH != 1) begin
        $display("Error: PREFETCH must be 0 or 1 (instance %m)");
        $finish;
    end
    if ((1 << PKT_ADDR_W) < PKT_BYTES / 8) begin
        $display("Error: PKT_ADDR_W too narrow for PKT_BYTES (instance %m)");
        $finish;
    end
end

localparam [3:0]
    STATE_IDLE  = 4'd0,   // waiting for start
    STATE_FETCH = 4'd1,   // slot pc addressed (0 after start, a jump target, a replay), data next cycle
    STATE_EXEC  = 4'd2,   // slot_data holds the instruction at pc: decode and execute (or issue)
    STATE_LDHI  = 4'd3,   // slot_data holds the second slot of an LD_IMM64
    STATE_LOAD  = 4'd4,   // load data back (stack, window, first packet RAM word; map words)
    STATE_LOAD2 = 4'd5,   // second packet RAM word back
    STATE_DIV   = 4'd6,   // waiting for jitnic_div
    STATE_MREQ  = 4'd7,   // a map port request: issued while m_grant, then its response
    STATE_MST1  = 4'd13,  // a map store's first word again, when the buffer was full: the full check
    STATE_MST2  = 4'd8,   // second word of a map store that crosses a word boundary
    STATE_KEY   = 4'd9,   // map_lookup_elem: the next key bytes (loaded like LDX), or the LOOKUP
    STATE_DRAIN = 4'd10,  // exit: the write buffer's entries go out as WRITEs, then done
    STATE_WAITG = 4'd11,  // waiting for m_grant (prandom), then the instruction runs again
    STATE_CSUM  = 4'd15,  // csum_diff: the next 8 or 4 bytes (loaded like LDX), or the result
    STATE_COPY  = 4'd14,  // xdp_load/store_bytes: destination checks, then per chunk a load and a store
    STATE_MOP   = 4'd12;  // exit: the buffered map updates/deletes go out (after the write buffer)

// what a map port response continues with
localparam [3:0]
    CONT_DESC   = 4'd0,   // descriptor into the cache, then run the instruction again
    CONT_LDLO   = 4'd1,   // map load, first word
    CONT_LDHI   = 4'd2,   // map load, second word
    CONT_ATOM   = 4'd3,   // atomic: old word -> new word into the write buffer
    CONT_LOOKUP = 4'd4,   // map_lookup_elem: r0
    CONT_RMAP   = 4'd5,   // redirect_map: devmap slot present?
    CONT_TCHDR  = 4'd6,   // tail_call: prog_array slot present?
    CONT_TCVAL  = 4'd7,   // tail_call: the slot's program id
    CONT_DRAIN  = 4'd8,   // a committed WRITE
    CONT_MW     = 4'd9,   // map_update_elem / map_delete_elem: the key's LOOKUP decides r0
    CONT_MOPI   = 4'd10,  // commit: INSERT answered the element's address
    CONT_MOPW   = 4'd11,  // commit: a value word written
    CONT_MOPD   = 4'd12;  // commit: DELETE done

localparam [3:0] OP_DIV = 4'h3, OP_MOD = 4'h9, OP_NEG = 4'h8, OP_MOV = 4'hb, OP_END = 4'hd;

// ---- state -------------------------------------------------------------------------------------
reg [3:0]        state_reg = STATE_IDLE, state_next;
reg [PC_W-1:0]   pc_reg = {PC_W{1'b0}}, pc_next;
reg [SLOT_W-1:0] slot_addr_reg = {SLOT_W{1'b0}}, slot_addr_next;
reg [31:0]       cnt_reg = 32'd0, cnt_next;
reg [15:0]       len_reg = 16'd0;
reg [15:0]       data_pos_reg = 16'd0;                    // data, data_end: positions from the
reg [15:0]       end_pos_reg = 16'd0;                     // head margin's start (adjust_head/tail)
reg [PC_W-1:0]   tlen_reg = {PC_W{1'b0}};                 // trace_len: the guard exit slot
reg [63:0]       insn_reg = 64'd0;                        // instruction in flight (debug)
reg [3:0]        wb_dst_reg = 4'd0, wb_dst_next;          // destination of a multi-cycle instruction
reg [31:0]       imm_lo_reg = 32'd0, imm_lo_next;         // LD_IMM64 low word

// load in flight
reg              ld_ctx_reg = 1'b0, ld_ctx_next;
reg              ld_stack_reg = 1'b0, ld_stack_next;
reg              ld_lo_win_reg = 1'b0, ld_lo_win_next;    // word w from the window
reg              ld_hi_win_reg = 1'b0, ld_hi_win_next;    // word w+1 from the window
reg              ld_lo_ram_reg = 1'b0, ld_lo_ram_next;    // word w from the packet RAM
reg              ld_hi_ram_reg = 1'b0, ld_hi_ram_next;    // word w+1 from the packet RAM
reg [WORD_W-1:0] ld_word_reg = {WORD_W{1'b0}}, ld_word_next;
reg [2:0]        ld_lane_reg = 3'd0, ld_lane_next;
reg [1:0]        ld_size_reg = 2'd0, ld_size_next;
reg              ld_sx_reg = 1'b0, ld_sx_next;
reg [31:0]       ld_ctx_data_reg = 32'd0, ld_ctx_data_next;
reg [63:0]       ld_ram_lo_reg = 64'd0, ld_ram_lo_next;   // first of two packet RAM words

// results
reg              done_reg = 1'b0, done_next;
reg              discard_reg = 1'b0, discard_next;     // clear the write buffers (a run failed)
reg [31:0]       action_reg = 32'd0, action_next;
reg [3:0]        err_reg = 4'd0, err_next;
reg [31:0]       cycles_reg = 32'd0, cycles_next;

// storage
reg [63:0]            rf_reg [0:15];                       // r0..r10 (r11..r15 never written)
reg [WIN_WORDS*64-1:0] win_reg = {WIN_WORDS*64{1'b0}};     // head margin + header window copy
reg [HDR_BYTES*8-1:0] win0_reg = {HDR_BYTES*8{1'b0}};      // the window as sampled at start (retry)
reg [63:0]            stk_even_mem [0:31];                 // stack words 0, 2, .., 62
reg [63:0]            stk_odd_mem [0:31];                  // stack words 1, 3, .., 63
reg [63:0]            stk_even_q = 64'd0;
reg [63:0]            stk_odd_q = 64'd0;
reg [63:0]            stk_init_reg = 64'd0;                // stack word written since start

// ---- trace format v2: map port, helpers, write buffer ------------------------------------------
localparam KEY_BYTES = `JITNIC_MAP_MAX_KEY_BYTES;
localparam [31:0] MAP_HANDLE = `JITNIC_MAP_BASE + `JITNIC_MAP_HANDLE_OFF;   // low word of a handle
localparam [63:0] ENOENT_R0 = 64'hFFFF_FFFF_FFFF_FFFE;                    // -ENOENT

// the request being issued (STATE_MREQ) and what its response continues with
reg              mreq_sent_reg = 1'b0, mreq_sent_next;
reg [2:0]        mreq_op_reg = 3'd0, mreq_op_next;
reg [7:0]        mreq_map_reg = 8'd0, mreq_map_next;
reg [31:0]       mreq_addr_reg = 32'd0, mreq_addr_next;
reg [63:0]       mreq_data_reg = 64'd0, mreq_data_next;
reg [7:0]        mreq_be_reg = 8'd0, mreq_be_next;
reg [3:0]        cont_reg = CONT_DESC, cont_next;
reg              txn_reg = 1'b0, txn_next;             // m_txn_open
reg [KEY_BYTES*8-1:0] key_reg = {KEY_BYTES*8{1'b0}};  // the lookup key (also m_req_key)

// map load / atomic in flight
reg              ld_map_reg = 1'b0, ld_map_next;       // load data from mlo/mhi
reg              ma_span_reg = 1'b0, ma_span_next;     // the access crosses into the next word
reg [63:0]       mlo_reg = 64'd0, mlo_next;
reg [63:0]       mhi_reg = 64'd0, mhi_next;
reg [7:0]        at_op_reg = 8'd0, at_op_next;         // atomic: imm
reg              at_64_reg = 1'b0, at_64_next;
reg              at_hi_reg = 1'b0, at_hi_next;         // 32-bit atomic in the word's upper half
reg [3:0]        at_src_reg = 4'd0, at_src_next;
reg [63:0]       at_val_reg = 64'd0, at_val_next;      // the src register's value
reg [63:0]       mst_data_reg = 64'd0, mst_data_next;  // second word of a crossing store
reg [7:0]        mst_be_reg = 8'd0, mst_be_next;

// helper calls in flight
reg [7:0]        h_mid_reg = 8'd0, h_mid_next;         // map id of the call
reg [31:0]       h_base_reg = 32'd0, h_base_next;      // its base byte address
reg [63:0]       key_addr_reg = 64'd0, key_addr_next;  // next key byte to load
reg [7:0]        key_left_reg = 8'd0, key_left_next;   // key bytes still to load
reg [6:0]        key_pos_reg = 7'd0, key_pos_next;     // where they go in key_reg
reg              ld_key_reg = 1'b0, ld_key_next;       // the load in flight fills the key
reg [15:0]       rm_flags_reg = 16'd0, rm_flags_next;  // redirect_map: flags for the metadata
reg [31:0]       rm_key_reg = 32'd0, rm_key_next;
reg [2:0]        rm_miss_reg = 3'd0, rm_miss_next;     // redirect_map: r0 if the slot is empty

// per-attempt results
reg [15:0]       map_ops_reg = 16'd0, map_ops_next;
reg [63:0]       rmeta_reg = 64'd0, rmeta_next;        // encoding.redirect_meta
reg [31:0]       prng_reg = 32'd0, prng_next;          // LFSR state after this attempt's draws
reg              drew_reg = 1'b0, drew_next;
reg              prandom_we_reg = 1'b0, prandom_we_next;

// csum_diff in flight (issue 10, engineer "exh"): the `from` bytes (inverted), then the `to`
// bytes, each read 8 bytes at a time while 8 remain, then 4, through the memory unit like LDX
// (stack, window, packet RAM; exact bounds) into jitnic_csum
localparam [63:0] EINVAL_R0 = 64'hFFFF_FFFF_FFFF_FFEA;                    // -EINVAL
localparam [9:0]  CSUM_MAX = 10'd512;                                     // bytes (the kernel's limit)
reg [63:0]       cs_addr_reg = 64'd0, cs_addr_next;    // next bytes to add
reg [9:0]        cs_left_reg = 10'd0, cs_left_next;    // bytes of this part still to add
reg [63:0]       cs_to_addr_reg = 64'd0, cs_to_addr_next;  // the `to` part, while `from` runs
reg [9:0]        cs_to_left_reg = 10'd0, cs_to_left_next;
reg              cs_inv_reg = 1'b0, cs_inv_next;       // adding `from` (inverted)
reg              ld_cs_reg = 1'b0, ld_cs_next;         // the load in flight feeds the sum
reg              cs_clear, cs_add;
wire [31:0]      cs_sum;
wire [32:0]      cs_sizes = {1'b0, rf_reg[2][31:0]} + {1'b0, rf_reg[4][31:0]};
wire             cs_bad = rf_reg[2][1:0] != 2'd0 || rf_reg[4][1:0] != 2'd0
                          || cs_sizes > {23'd0, CSUM_MAX};
wire             cs_wide = cs_left_reg >= 10'd8;

// xdp_load_bytes / xdp_store_bytes in flight (issue 10, engineer "exh"): a copy between the
// packet (data + off) and r3, in chunks of 8 bytes while 8 remain, then 1 (exact bounds), each a
// load then a store through the memory unit; backwards when the destination lies above the
// source (the model copies the whole source first: memmove). load_bytes first checks its
// destination's first and last byte as one access (the model's write: STORE_WINDOW, else the
// region's bound), so a copy never faults halfway.
localparam [63:0] EFAULT_R0 = 64'hFFFF_FFFF_FFFF_FFF2;                    // -EFAULT
localparam [1:0]  CP_CHK1 = 2'd0, CP_CHK2 = 2'd1, CP_LOAD = 2'd2, CP_STORE = 2'd3;
// (the packet as bpf_xdp_adjust_head/tail left it: data and data_end are the run's positions)
localparam [31:0] PKT_POS0_32 = `JITNIC_PKT_DATA - `JITNIC_NIC_HEADROOM;
localparam [63:0] PKT_POS0_64 = {32'd0, PKT_POS0_32};
reg [63:0]       cp_dst_reg = 64'd0, cp_dst_next;      // destination start address
reg [16:0]       cp_left_reg = 17'd0, cp_left_next;    // bytes still to copy
reg              cp_back_reg = 1'b0, cp_back_next;     // highest chunk first
reg [1:0]        cp_phase_reg = CP_CHK1, cp_phase_next;
reg [3:0]        cp_e1_reg = 4'd0, cp_e1_next;         // the first byte's check
reg [63:0]       cp_data_reg = 64'd0, cp_data_next;    // the chunk loaded
reg              ld_cp_reg = 1'b0, ld_cp_next;         // the load in flight is a chunk
wire [16:0]      cp_off_in = {1'b0, rf_reg[2][15:0]};
wire [16:0]      cp_n_in = {1'b0, rf_reg[4][15:0]};
wire             cp_efault = rf_reg[2][31:16] != 16'd0 || rf_reg[4][31:16] != 16'd0;
wire [16:0]      cp_flen = {1'b0, end_pos_reg - data_pos_reg};
wire [16:0]      cp_at = {1'b0, data_pos_reg} + cp_off_in;    // position of packet byte off
wire [63:0]      cp_pkt = PKT_POS0_64 + {47'd0, cp_at};       // its address
wire             cp_einval = cp_off_in + cp_n_in > cp_flen;
wire [16:0]      cp_off0_back = cp_n_in - (cp_n_in >= 17'd8 ? 17'd8 : 17'd1);  // top chunk's offset
localparam integer HDR_END_I = `JITNIC_NIC_HEADROOM + HDR_BYTES;
localparam [16:0] HDR_END = HDR_END_I[16:0];
wire             cp_nowin = cp_at + cp_n_in > HDR_END;     // store_bytes past the window
wire             cp_wide = cp_left_reg >= 17'd8;
wire [16:0]      cp_k = cp_wide ? 17'd8 : 17'd1;
// The chunk's addresses are registers, set up at the call and stepped when a chunk is stored, so
// the memory unit's address is a register in every phase (computing src/dst + offset here put
// the offset and address adds at the head of the executor's longest path). Forwards the offset
// steps by this chunk's size; backwards by the next chunk's (the one below it).
wire [16:0]      cp_left_after = cp_left_reg - cp_k;
wire [63:0]      cp_step = !cp_back_reg ? {47'd0, cp_k}
                           : cp_left_after >= 17'd8 ? -64'd8 : -64'd1;
reg  [63:0]      cp_at_src_reg = 64'd0, cp_at_src_next;   // this chunk's source address
reg  [63:0]      cp_at_dst_reg = 64'd0, cp_at_dst_next;   // ... and destination address
reg  [63:0]      cp_last_reg = 64'd0, cp_last_next;       // the destination's last byte
reg  [63:0]      cp_addr;                                 // the memory unit's address this cycle
always @* begin
    case (cp_phase_reg)
        CP_CHK1: cp_addr = cp_dst_reg;
        CP_CHK2: cp_addr = cp_last_reg;
        CP_LOAD: cp_addr = cp_at_src_reg;
        default: cp_addr = cp_at_dst_reg;
    endcase
end
wire             cp_chk = cp_phase_reg == CP_CHK1 || cp_phase_reg == CP_CHK2;

// ktime_get_ns (issue 10, engineer "exh"): the frame's timestamp, sampled at start (kept by retry)
reg [63:0]       ts_reg = 64'd0;
always @(posedge clk) begin
    if (state_reg == STATE_IDLE && start) begin
        ts_reg <= pkt_ts;
    end
end

// descriptor cache (4 entries, direct-mapped by map id; emptied at start and retry): the DESC
// response (mapmem.desc_word) of the maps this attempt touches
reg [3:0]  dc_valid_reg = 4'd0;
reg [7:0]  dc_id_mem   [0:3];
reg [31:0] dc_base_mem [0:3];
reg [63:0] dc_word_mem [0:3];
reg        dc_fill;
reg [1:0]  dc_fill_idx;

// ---- map_update_elem / map_delete_elem (docs/exec.md "Map updates and deletes") -------------------
// At the call: the key (and an update's value) are gathered like lookup's key, a LOOKUP of the key
// decides r0 as the model does, and a successful call's effect goes into jitnic_mapops; `exit`
// drains it after the write buffer (STATE_MOP), a guard failure or fault clears it.
localparam VAL_BYTES = `JITNIC_MAPOP_VALUE_BYTES;
localparam VW_W = $clog2(VAL_BYTES / 8 + 1);
localparam [1:0] MOP_WRITE = 2'd0, MOP_INSERT = 2'd1, MOP_DELETE = 2'd2;
localparam [63:0] EPERM_R0 = 64'hFFFF_FFFF_FFFF_FFFF, E2BIG_R0 = 64'hFFFF_FFFF_FFFF_FFF9,
                  EEXIST_R0 = 64'hFFFF_FFFF_FFFF_FFEF;              // -EINVAL: EINVAL_R0 above
reg                   mw_on_reg = 1'b0, mw_on_next;      // an update/delete call in progress
reg                   mw_del_reg = 1'b0, mw_del_next;    // 1 delete, 0 update
reg                   mw_val_reg = 1'b0, mw_val_next;    // gathering the value (else the key)
reg                   mw_hash_reg = 1'b0, mw_hash_next;
reg                   mw_rdonly_reg = 1'b0, mw_rdonly_next;
reg  [7:0]            mw_vsize_reg = 8'd0, mw_vsize_next;
reg  [VAL_BYTES*8-1:0] val_reg = {VAL_BYTES*8{1'b0}};    // the update's value
reg                   mo_drain_reg = 1'b0, mo_drain_next; // STATE_MOP's requests: key from the buffer
reg                   mo_ins_reg = 1'b0, mo_ins_next;     // the head entry's INSERT was answered
reg  [31:0]           mo_addr_reg = 32'd0, mo_addr_next;  // its value's byte address
reg  [VW_W-1:0]       mo_w_reg = {VW_W{1'b0}}, mo_w_next; // next value word to write
reg                   mo_push, mo_pop;
reg  [1:0]            mo_push_kind;
wire                  mo_full, mo_dr_valid;
wire [1:0]            mo_dr_kind;
wire [7:0]            mo_dr_map;
wire [KEY_BYTES*8-1:0] mo_dr_key;
wire [31:0]           mo_dr_addr;
wire [VW_W-1:0]       mo_dr_words;
wire [63:0]           mo_dr_wdata;
wire [7:0]            mo_dr_wbe;
wire [$clog2(`JITNIC_MAPOP_ENTRIES+1)-1:0] mo_count;

assign slot_addr = PREFETCH != 0 && state_reg == STATE_IDLE ? {SLOT_W{1'b0}} : slot_addr_reg;
assign done = done_reg;
assign action = action_reg;
assign err = err_reg;
assign hdr_out = win_reg[HEAD*8 +: HDR_BYTES*8];
assign head_out = win_reg[HEAD*8-1:0];
assign cycles = cycles_reg;
assign dbg_pc = pc_reg[SLOT_W-1:0];
assign dbg_insn = state_reg == STATE_EXEC ? slot_data : insn_reg;
assign m_req_valid = state_reg == STATE_MREQ && !mreq_sent_reg && m_grant;
assign m_req_op = mreq_op_reg;
assign m_req_map = mreq_map_reg;
assign m_req_key = mo_drain_reg ? mo_dr_key : key_reg;
assign m_req_addr = mreq_addr_reg;
assign m_req_data = mreq_data_reg;
assign m_req_be = mreq_be_reg;
assign m_txn_open = txn_reg;
assign prandom_we = prandom_we_reg;
assign prandom_next = prng_reg;
assign redirect_meta = rmeta_reg;
assign map_ops = map_ops_reg;

// ---- decode (slot_data, valid in STATE_EXEC) --------------------------------------------------
wire [7:0]  d_opc = slot_data[7:0];
wire [3:0]  d_dst = slot_data[11:8];
wire [3:0]  d_src = slot_data[15:12];
wire [15:0] d_off = slot_data[31:16];
wire [31:0] d_imm = slot_data[63:32];
wire [2:0]  d_cls = d_opc[2:0];
wire [3:0]  d_op = d_opc[7:4];
wire        d_x = d_opc[3];
wire        d_alu64 = d_cls == 3'd7;

wire src_zero = d_src == 4'd0;
wire off_zero = d_off == 16'd0;
wire imm_zero = d_imm == 32'd0;
wire dst_wr_ok = d_dst < 4'd10;          // written registers: r0..r9 (r10 is read-only)
wire dst_rd_ok = d_dst <= 4'd10;
wire src_ok = d_src <= 4'd10;
wire kx_ok = d_x ? imm_zero : src_zero;   // reserved field of the K / X form

// encodings of jit/isa.py's opcode table (reserved fields zero, registers r0..r10, r10 not
// written) restricted to what docs/abi.md says the executor implements
reg alu_enc_ok;
always @* begin
    case (d_op)
        OP_DIV, OP_MOD: alu_enc_ok = (d_off == 16'd0 || d_off == 16'd1) && kx_ok;
        OP_MOV:         alu_enc_ok = d_x ? imm_zero && (off_zero || d_off == 16'd8 || d_off == 16'd16
                                                        || (d_alu64 && d_off == 16'd32))
                                         : src_zero && off_zero;
        OP_NEG:         alu_enc_ok = !d_x && src_zero && off_zero && imm_zero;
        OP_END:         alu_enc_ok = !(d_alu64 && d_x) && src_zero && off_zero
                                     && (d_imm == 32'd16 || d_imm == 32'd32 || d_imm == 32'd64);
        4'he, 4'hf:     alu_enc_ok = 1'b0;
        default:        alu_enc_ok = off_zero && kx_ok;   // add sub mul or and lsh rsh xor arsh
    endcase
end

wire is_alu = (d_cls == 3'd4 || d_cls == 3'd7) && alu_enc_ok && dst_wr_ok && src_ok;
wire is_divmod = d_op == OP_DIV || d_op == OP_MOD;
wire is_lddw = d_opc == 8'h18 && src_zero && off_zero && dst_wr_ok;
wire is_ldx = d_cls == 3'd1 && (d_opc[7:5] == 3'b011 || (d_opc[7:5] == 3'b100 && d_opc[4:3] != 2'b11))
              && imm_zero && dst_wr_ok && src_ok;
wire is_st = d_cls == 3'd2 && d_opc[7:5] == 3'b011 && src_zero && dst_rd_ok;
wire is_stx = d_cls == 3'd3 && d_opc[7:5] == 3'b011 && imm_zero && dst_rd_ok && src_ok;
wire is_exit = d_opc == 8'h95 && d_dst == 4'd0 && src_zero && off_zero && imm_zero;
// forward jumps (trace format v2, jit/nic/validate.py JA / JCOND_K / JCOND_X)
wire d_jmp_cls = d_cls == 3'd5 || d_cls == 3'd6;
wire is_ja = d_opc == 8'h05 && d_dst == 4'd0 && src_zero && imm_zero;
wire is_jcond = d_jmp_cls && dst_rd_ok && (d_x ? src_ok && imm_zero : src_zero)
                && d_op != 4'h0 && d_op != 4'h8 && d_op != 4'h9 && d_op != 4'he && d_op != 4'hf;

wire [63:0] dst_val = rf_reg[d_dst];
wire [31:0] r0_lo = rf_reg[0][31:0];
wire [63:0] src_val = rf_reg[d_src];

// ---- jump condition and target ---------------------------------------------------------------
wire [63:0] j_b = d_x ? src_val : {{32{d_imm[31]}}, d_imm};
wire        j_32 = d_cls == 3'd6;
wire [63:0] j_ua = j_32 ? {32'd0, dst_val[31:0]} : dst_val;                       // unsigned view
wire [63:0] j_ub = j_32 ? {32'd0, j_b[31:0]} : j_b;
wire [63:0] j_sa = j_32 ? {{32{dst_val[31]}}, dst_val[31:0]} : dst_val;          // signed view
wire [63:0] j_sb = j_32 ? {{32{j_b[31]}}, j_b[31:0]} : j_b;
wire j_eq = j_ua == j_ub;
wire j_ult = j_ua < j_ub;
wire j_slt = $signed(j_sa) < $signed(j_sb);
reg  j_cond;
always @* begin
    case (d_op)
        4'h1: j_cond = j_eq;                 // jeq
        4'h2: j_cond = !j_ult && !j_eq;      // jgt
        4'h3: j_cond = !j_ult;               // jge
        4'h4: j_cond = |(j_ua & j_ub);       // jset
        4'h5: j_cond = !j_eq;                // jne
        4'h6: j_cond = !j_slt && !j_eq;      // jsgt
        4'h7: j_cond = !j_slt;               // jsge
        4'ha: j_cond = j_ult;                // jlt
        4'hb: j_cond = j_ult || j_eq;        // jle
        4'hc: j_cond = j_slt;                // jslt
        4'hd: j_cond = j_slt || j_eq;        // jsle
        default: j_cond = 1'b1;              // ja
    endcase
end
// target = pc + 1 + off (32 bits: a backward or far target compares out of range)
wire [31:0] j_tgt = {{(32-PC_W){1'b0}}, pc_reg} + 32'd1 + {{16{d_off[15]}}, d_off};
wire [31:0] j_len = {{(32-PC_W){1'b0}}, tlen_reg};
wire [31:0] j_pc = {{(32-PC_W){1'b0}}, pc_reg};
wire        j_guard = j_tgt == j_len;                                  // the guard exit
wire        j_bad = j_tgt <= j_pc || j_tgt > j_len || j_tgt >= PC_END;  // refused at commit (BAD_JUMP)

// ---- helper calls, atomics, map addresses (trace format v2) -------------------------------------
// the RTL's helper set (issue 10 contract): map_lookup_elem, get_prandom_u32,
// get_smp_processor_id, tail_call, redirect, redirect_map
wire h_lookup = d_imm == `HELPER_MAP_LOOKUP_ELEM;
wire h_prandom = d_imm == `HELPER_GET_PRANDOM_U32;
wire h_cpu = d_imm == `HELPER_GET_SMP_PROCESSOR_ID;
wire h_tail = d_imm == `HELPER_TAIL_CALL;
wire h_redirect = d_imm == `HELPER_REDIRECT;
wire h_rmap = d_imm == `HELPER_REDIRECT_MAP;
wire h_csum = d_imm == `HELPER_CSUM_DIFF;
wire h_lbytes = d_imm == `HELPER_XDP_LOAD_BYTES;
wire h_sbytes = d_imm == `HELPER_XDP_STORE_BYTES;
wire h_ktime = d_imm == `HELPER_KTIME_GET_NS;
wire h_adjh = d_imm == `HELPER_XDP_ADJUST_HEAD;
wire h_adjt = d_imm == `HELPER_XDP_ADJUST_TAIL;
wire h_update = d_imm == `HELPER_MAP_UPDATE_ELEM;
wire h_delete = d_imm == `HELPER_MAP_DELETE_ELEM;
wire is_call = d_opc == 8'h85 && d_dst == 4'd0 && src_zero && off_zero
               && (h_lookup || h_prandom || h_cpu || h_tail || h_redirect || h_rmap || h_csum
                   || h_lbytes || h_sbytes || h_ktime || h_adjh || h_adjt
                   || h_update || h_delete);
// lock add/or/and/xor (fetch), xchg, cmpxchg; 32 or 64 bits; src r0..r9 (validate.py ATOMIC)
wire at_imm_ok = d_imm == 32'h00 || d_imm == 32'h01 || d_imm == 32'h40 || d_imm == 32'h41
                 || d_imm == 32'h50 || d_imm == 32'h51 || d_imm == 32'ha0 || d_imm == 32'ha1
                 || d_imm == 32'he1 || d_imm == 32'hf1;
wire is_atomic = d_cls == 3'd3 && d_opc[7:5] == 3'b110 && (d_opc[4:3] == 2'b00 || d_opc[4:3] == 2'b11)
                 && dst_rd_ok && d_src < 4'd10 && at_imm_ok;

// a map value address: bits [63:32] the map id (< 256), [31:0] MAP_BASE + offset (< 256 MiB)
wire [63:0] ma = (is_ldx ? src_val : dst_val) + {{48{d_off[15]}}, d_off};
localparam [31:0] MAP_BASE = `JITNIC_MAP_BASE;
wire        ma_is_map = ma[31:28] == MAP_BASE[31:28] && ma[63:40] == 24'd0;
wire [31:0] ma_off = {4'd0, ma[27:0]};
reg  [3:0]  ma_n;                                    // access bytes
always @* begin
    case (d_opc[4:3])
        2'd0: ma_n = 4'd4;
        2'd1: ma_n = 4'd2;
        2'd2: ma_n = 4'd1;
        default: ma_n = 4'd8;
    endcase
end
wire        ma_cross = {1'b0, ma_off[2:0]} + ma_n > 4'd8;

// the map handle a call names: r1, or r2 for tail_call
wire [63:0] h_val = h_tail ? rf_reg[2] : rf_reg[1];
wire        h_is_handle = h_val[31:0] == MAP_HANDLE && h_val[63:40] == 24'd0;

// descriptor cache lookup: the call's map, or the accessed map
wire [7:0]  c_id = is_call ? h_val[39:32] : ma[39:32];
wire [1:0]  c_idx = c_id[1:0];
wire        c_hit = dc_valid_reg[c_idx] && dc_id_mem[c_idx] == c_id;
wire [31:0] c_base = dc_base_mem[c_idx];
/* verilator lint_off UNUSEDSIGNAL */
wire [63:0] c_word = dc_word_mem[c_idx];             // (bits 63..61 unused)
wire [31:0] ma_abs;                                  // (bits 2..0: the lane, from ma_off)
/* verilator lint_on UNUSEDSIGNAL */
wire [31:0] c_size = c_word[`MAP_EXDESC_SIZE_LSB +: 32];
wire [15:0] c_vsize = c_word[`MAP_EXDESC_VALUE_SIZE_LSB +: 16];
wire [7:0]  c_ksize = c_word[`MAP_EXDESC_KEY_SIZE_LSB +: 8];
wire [3:0]  c_type = c_word[`MAP_EXDESC_TYPE_LSB +: 4];
wire        c_rdonly = c_word[`MAP_EXDESC_RDONLY_LSB];
wire        ma_in = {1'b0, ma_off} + {29'd0, ma_n} <= {1'b0, c_size};
assign ma_abs = c_base + ma_off;                     // byte address in map memory

// tail_call: prog_array slot r3 at base + i * (1 + value words) * 8 (header word, then the id)
wire [31:0] tc_stride = 32'd1 + (({16'd0, c_vsize} + 32'd7) >> 3);
wire [63:0] tc_elem = {32'd0, rf_reg[3][31:0]} * {32'd0, tc_stride};           // words
wire        tc_in = tc_elem + {32'd0, tc_stride} <= {35'd0, c_size[31:3]};
wire [31:0] tc_addr = c_base + {tc_elem[28:0], 3'd0};

// redirect_map: flags beyond the action bits (and broadcast/exclude-ingress for a devmap) abort
wire        rm_devmap = c_type == `MAP_TYPE_DEVMAP;
wire [63:0] rm_allowed = rm_devmap ? 64'h1b : 64'h3;
wire        rm_bad_flags = |(rf_reg[3] & ~rm_allowed);

// bpf_get_prandom_u32: one Galois step of the NIC's LFSR (encoding.lfsr_step)
wire [31:0] prng_cur = drew_reg ? prng_reg : prandom_state;
wire [31:0] prng_step = (prng_cur >> 1) ^ (prng_cur[0] ? `LFSR_TAPS : 32'd0);

// write buffer: keys are map memory word addresses
localparam WB_KEY_W = 29;
reg                 wb_clear, wb_wr, wb_drain, wb_dr_ready;
reg  [WB_KEY_W-1:0] wb_wr_key;
reg  [63:0]         wb_wr_data;
reg  [7:0]          wb_wr_be;
/* verilator lint_off UNUSEDSIGNAL */
wire                wb_full;                        // (wb_refused instead: see there)
/* verilator lint_on UNUSEDSIGNAL */
wire                wb_rd_hit;
wire [7:0]          wb_rd_be;
wire [63:0]         wb_rd_data;
wire                wb_dr_valid;
/* verilator lint_off UNUSEDSIGNAL */
wire                wb_drain_done;                  // (the DRAIN state watches count instead)
/* verilator lint_on UNUSEDSIGNAL */
wire [WB_KEY_W-1:0] wb_dr_key;
wire [63:0]         wb_dr_data;
wire [7:0]          wb_dr_be;
wire [$clog2(`JITNIC_WB_ENTRIES+1)-1:0] wb_count;
localparam [$clog2(`JITNIC_WB_ENTRIES+1)-1:0] WB_FULL_COUNT = `JITNIC_WB_ENTRIES;
// A write to word mreq_addr_reg[31:3] (the read key) is refused: the buffer's wr_full for that
// key, from the read-side compares of a registered key. The executor never decides on wr_full
// itself: its key input is also driven by the address add of a store in STATE_EXEC, and a
// decision behind those compares was the whole design's longest path.
wire wb_refused = wb_count == WB_FULL_COUNT && !wb_rd_hit;

jitnic_wbuf #(.ENTRIES(`JITNIC_WB_ENTRIES), .KEY_W(WB_KEY_W)) wbuf_inst (
    .clk(clk), .rst(rst), .clear(wb_clear),
    .wr_valid(wb_wr), .wr_key(wb_wr_key), .wr_data(wb_wr_data), .wr_be(wb_wr_be), .wr_full(wb_full),
    .rd_key(mreq_addr_reg[31:3]), .rd_hit(wb_rd_hit), .rd_be(wb_rd_be), .rd_data(wb_rd_data),
    .drain(wb_drain), .dr_valid(wb_dr_valid), .dr_ready(wb_dr_ready), .dr_key(wb_dr_key),
    .dr_data(wb_dr_data), .dr_be(wb_dr_be), .drain_done(wb_drain_done), .count(wb_count)
);

// the buffered map updates/deletes (pushed at a successful call, drained at exit)
jitnic_mapops #(.ENTRIES(`JITNIC_MAPOP_ENTRIES), .KEY_BYTES(KEY_BYTES), .VAL_BYTES(VAL_BYTES)) mapops_inst (
    .clk(clk), .rst(rst), .clear(wb_clear),
    .wr_valid(mo_push), .wr_kind(mo_push_kind), .wr_map(h_mid_reg), .wr_key(key_reg),
    .wr_addr(m_resp_addr), .wr_nbytes(mw_vsize_reg), .wr_value(val_reg), .full(mo_full),
    .dr_valid(mo_dr_valid), .dr_kind(mo_dr_kind), .dr_map(mo_dr_map), .dr_key(mo_dr_key),
    .dr_addr(mo_dr_addr), .dr_words(mo_dr_words), .dr_word(mo_w_reg), .dr_wdata(mo_dr_wdata),
    .dr_wbe(mo_dr_wbe), .pop(mo_pop), .count(mo_count)
);
wire mw_type_ok = c_type == `MAP_TYPE_ARRAY || c_type == `MAP_TYPE_PERCPU_ARRAY
                  || c_type == `MAP_TYPE_HASH || c_type == `MAP_TYPE_PERCPU_HASH;
wire mw_is_hash = c_type == `MAP_TYPE_HASH || c_type == `MAP_TYPE_PERCPU_HASH;
wire mw_flags_bad = rf_reg[4] > 64'd2;               // not BPF_ANY / NOEXIST / EXIST: -EINVAL

// a map word as this attempt sees it: map memory, with the bytes it buffered on top
wire [63:0] wb_mask = {{8{wb_rd_be[7]}}, {8{wb_rd_be[6]}}, {8{wb_rd_be[5]}}, {8{wb_rd_be[4]}},
                       {8{wb_rd_be[3]}}, {8{wb_rd_be[2]}}, {8{wb_rd_be[1]}}, {8{wb_rd_be[0]}}};
wire [63:0] m_word = (m_resp_data & ~wb_mask) | (wb_rd_data & wb_mask);

// atomic: old value (32-bit: the lane of address bit 2), new value, register result
wire [63:0] at_old = at_64_reg ? m_word : {32'd0, at_hi_reg ? m_word[63:32] : m_word[31:0]};
wire [63:0] at_src = at_64_reg ? at_val_reg : {32'd0, at_val_reg[31:0]};
wire [63:0] at_r0 = at_64_reg ? rf_reg[0] : {32'd0, rf_reg[0][31:0]};
reg  [63:0] at_new;
reg         at_store;
always @* begin
    at_store = 1'b1;
    case (at_op_reg[7:4])
        4'h4: at_new = at_old | at_src;
        4'h5: at_new = at_old & at_src;
        4'ha: at_new = at_old ^ at_src;
        4'he: at_new = at_src;                               // xchg
        4'hf: begin                                          // cmpxchg
            at_new = at_src;
            at_store = at_old == at_r0;
        end
        default: at_new = at_old + at_src;                   // add
    endcase
    if (!at_64_reg) begin
        at_new = {32'd0, at_new[31:0]};
    end
end

// ---- ALU and divider ---------------------------------------------------------------------------
wire [63:0] alu_a, alu_b, alu_result;

jitnic_alu alu_inst (
    .op(d_op),
    .alu64(d_alu64),
    .src_x(d_x),
    .off(d_off),
    .imm(d_imm),
    .dst_val(dst_val),
    .src_val(src_val),
    .opnd_a(alu_a),
    .opnd_b(alu_b),
    .result(alu_result)
);

reg         div_start;
wire        div_busy;
wire        div_done;
wire [63:0] div_result;

jitnic_div div_inst (
    .clk(clk),
    .rst(rst),
    .start(div_start),
    .is64(d_alu64),
    .sgn(d_off[0]),
    .is_mod(d_op == OP_MOD),
    .dividend(alu_a),
    .divisor(alu_b),
    .busy(div_busy),
    .done(div_done),
    .result(div_result)
);

// ---- memory unit -------------------------------------------------------------------------------
wire [3:0]        mu_err;
wire              mu_ctx, mu_pkt, mu_stack, mu_span;
wire [WORD_W-1:0] mu_word;
wire [WORD_W-1:0] mu_pkt_word, mu_pkt_word1;   // ready before the region decode: the packet
wire [5:0]        mu_stk_word, mu_stk_word1;   // RAM, window and stack ports take these
wire [2:0]        mu_lane;
wire [127:0]      mu_line_data;
wire [15:0]       mu_line_be;
wire [31:0]       mu_ctx_data;
wire [63:0]       mu_rsp_data;
reg  [127:0]      ld_line;

jitnic_memunit #(
    .HDR_BYTES(HDR_BYTES),
    .PKT_BYTES(PKT_BYTES),
    .WORD_W(WORD_W)
) memunit_inst (
    // STATE_KEY: map_lookup_elem's key, 8 bytes at a time, then byte by byte (exact bounds)
    // STATE_CSUM: csum_diff's bytes, 8 at a time, then 4
    // STATE_COPY: load/store_bytes' checks (1 byte), chunks (8 or 1 bytes)
    .req_base(state_reg == STATE_KEY ? key_addr_reg : state_reg == STATE_CSUM ? cs_addr_reg
              : state_reg == STATE_COPY ? cp_addr : (is_ldx ? src_val : dst_val)),
    .req_off(state_reg == STATE_KEY || state_reg == STATE_CSUM || state_reg == STATE_COPY ? 16'd0 : d_off),
    .req_size(state_reg == STATE_KEY ? (key_left_reg >= 8'd8 ? 2'd3 : 2'd2)
              : state_reg == STATE_CSUM ? (cs_wide ? 2'd3 : 2'd0)
              : state_reg == STATE_COPY ? (!cp_chk && cp_wide ? 2'd3 : 2'd2) : d_opc[4:3]),
    .req_store(state_reg == STATE_KEY || state_reg == STATE_CSUM ? 1'b0
               : state_reg == STATE_COPY ? cp_phase_reg != CP_LOAD : !is_ldx),
    .req_wdata(state_reg == STATE_COPY ? cp_data_reg : is_st ? {{32{d_imm[31]}}, d_imm} : src_val),
    .data_pos(data_pos_reg),
    .end_pos(end_pos_reg),
    .req_err(mu_err),
    .req_ctx(mu_ctx),
    .req_pkt(mu_pkt),
    .req_stack(mu_stack),
    .req_word(mu_word),
    .req_pkt_word(mu_pkt_word),
    .req_pkt_word1(mu_pkt_word1),
    .req_stk_word(mu_stk_word),
    .req_stk_word1(mu_stk_word1),
    .req_lane(mu_lane),
    .req_span(mu_span),
    .req_line_data(mu_line_data),
    .req_line_be(mu_line_be),
    .req_ctx_data(mu_ctx_data),
    .rsp_line(ld_line),
    .rsp_lane(ld_lane_reg),
    .rsp_size(ld_size_reg),
    .rsp_signed(ld_sx_reg),
    .rsp_data(mu_rsp_data)
);

wire mu_lo_ram = mu_pkt && {{(32-WORD_W){1'b0}}, mu_pkt_word} >= WIN_WORDS;
wire mu_hi_ram = mu_pkt && mu_span && {{(32-WORD_W){1'b0}}, mu_pkt_word1} >= WIN_WORDS;

// csum_diff's sum: the loaded bytes (LOAD/LOAD2 with ld_cs) go in as they come back
jitnic_csum #(.MAX_BYTES(512)) csum_inst (
    .clk(clk), .rst(rst),
    .clear(cs_clear), .seed(rf_reg[5][31:0]),
    .add(cs_add), .add_wide(ld_size_reg == 2'd3), .add_invert(cs_inv_reg), .data(mu_rsp_data),
    .sum(cs_sum)
);

// stack banks: word w lives in bank w[0] at index w[5:1]
wire [5:0] sw = mu_stk_word;
wire [5:0] sw1 = mu_stk_word1;
wire [4:0] stk_even_idx = sw[0] ? sw1[5:1] : sw[5:1];
wire [4:0] stk_odd_idx = sw[5:1];
wire [5:0] stk_even_word = sw[0] ? sw1 : sw;
wire [5:0] stk_odd_word = sw[0] ? sw : sw1;
wire [63:0] stk_even_wdata = sw[0] ? mu_line_data[127:64] : mu_line_data[63:0];
wire [63:0] stk_odd_wdata = sw[0] ? mu_line_data[63:0] : mu_line_data[127:64];
wire [7:0]  stk_even_be0 = sw[0] ? mu_line_be[15:8] : mu_line_be[7:0];
wire [7:0]  stk_odd_be0 = sw[0] ? mu_line_be[7:0] : mu_line_be[15:8];
// the first write to a word writes all of it (zeros outside the stored bytes)
wire [7:0]  stk_even_be = stk_init_reg[stk_even_word] ? stk_even_be0 : {8{|stk_even_be0}};
wire [7:0]  stk_odd_be = stk_init_reg[stk_odd_word] ? stk_odd_be0 : {8{|stk_odd_be0}};

// load assembly: {word w+1, word w}
wire [WORD_W-1:0] ld_word1 = ld_word_reg + 1'b1;
wire [WORD_W-1:0] win_lo_idx = ld_lo_win_reg ? ld_word_reg : {WORD_W{1'b0}};
wire [WORD_W-1:0] win_hi_idx = ld_hi_win_reg ? ld_word1 : {WORD_W{1'b0}};
wire [63:0] win_lo = win_reg[win_lo_idx*64 +: 64];
wire [63:0] win_hi = win_reg[win_hi_idx*64 +: 64];
wire [5:0]  lw = ld_word_reg[5:0];
wire [5:0]  lw1 = ld_word1[5:0];
wire [63:0] stk_lo = stk_init_reg[lw] ? (lw[0] ? stk_odd_q : stk_even_q) : 64'd0;
wire [63:0] stk_hi = stk_init_reg[lw1] ? (lw[0] ? stk_even_q : stk_odd_q) : 64'd0;

always @* begin
    if (ld_map_reg) begin
        ld_line = {mhi_reg, mlo_reg};
    end else if (ld_ctx_reg) begin
        ld_line = {96'd0, ld_ctx_data_reg};
    end else if (ld_stack_reg) begin
        ld_line = {stk_hi, stk_lo};
    end else begin
        ld_line[63:0] = ld_lo_ram_reg ? (ld_hi_ram_reg ? ld_ram_lo_reg : pkt_rd_data) : win_lo;
        ld_line[127:64] = ld_hi_ram_reg ? pkt_rd_data : win_hi;
    end
end

// ---- bpf_xdp_adjust_head / bpf_xdp_adjust_tail (issue 10, helpers 44 and 65) -----------------
// data and data_end as positions from the start of the head margin (an unmoved frame: HEAD and
// HEAD + pkt_len); the kernel's checks (jit/ebpf/helpers.py) in 34-bit signed arithmetic, then
// the NIC's (jit/nic/stateful_exec.py): data inside the margin, a grown tail inside the window
localparam signed [33:0] ADJ_DATA_MIN = -34'sd`JITNIC_ADJ_EINVAL_BELOW;
localparam signed [33:0] ADJ_END_MAX = `JITNIC_ADJ_END_MAX;
localparam signed [33:0] ADJ_HLEN = `JITNIC_ETH_HLEN;
localparam integer ADJ_WIN_END_I = HEAD + HDR_BYTES;
localparam [31:0] ADJ_PKT_MAX_U = PKT_BYTES;
localparam signed [33:0] ADJ_WIN_END = {2'b00, ADJ_WIN_END_I[31:0]};
// (Verilator calls a localparam of an untyped parameter unsized at the defaults; it is 32 bits)
/* verilator lint_off WIDTHCONCAT */
localparam signed [33:0] ADJ_PKT_MAX = {2'b00, ADJ_PKT_MAX_U};
/* verilator lint_on WIDTHCONCAT */
wire signed [33:0] adj_delta = $signed({{2{rf_reg[2][31]}}, rf_reg[2][31:0]});
wire signed [33:0] adj_data = $signed({18'd0, data_pos_reg});
wire signed [33:0] adj_end = $signed({18'd0, end_pos_reg});
wire signed [33:0] adj_new = (h_adjh ? adj_data : adj_end) + adj_delta;
wire adj_einval = h_adjh ? (adj_new < ADJ_DATA_MIN || adj_new > adj_end - ADJ_HLEN)
                         : (adj_new > ADJ_END_MAX || adj_new < adj_data + ADJ_HLEN);
wire adj_range = !adj_einval && (h_adjh ? adj_new < 34'sd0
                                        : (adj_new - adj_data > ADJ_PKT_MAX
                                           || (adj_new > adj_end && adj_new > ADJ_WIN_END)));
/* verilator lint_off UNUSEDSIGNAL */
wire [15:0] adj_new_pos = adj_new[15:0];     // in range when it is written
/* verilator lint_on UNUSEDSIGNAL */

assign frame_off = data_pos_reg;
assign frame_len = end_pos_reg - data_pos_reg;

// ---- control -----------------------------------------------------------------------------------
reg              rf_we;
reg  [3:0]       rf_waddr;
reg  [63:0]      rf_wdata;
reg              win_we;
reg              stk_we;
reg              pkt_rd_en_int;
/* verilator lint_off UNUSEDSIGNAL */
reg [WORD_W-1:0] pkt_rd_word;  // packet words need only the low PKT_ADDR_W bits
localparam [WORD_W-1:0] HEAD_WORDS_W = HEAD_WORDS[WORD_W-1:0];
wire [WORD_W-1:0] pkt_ram_word = pkt_rd_word - HEAD_WORDS_W;   // the RAM holds the frame alone
/* verilator lint_on UNUSEDSIGNAL */
reg              adv;          // the instruction at pc is complete: go to pc + 1
reg [3:0]        adv_state;    // state for pc + 1
reg              fin;          // the run ends this cycle
reg [3:0]        fin_err;
reg              replay;       // run the instruction at pc again (after a descriptor or the grant)
reg              tc_fin;       // tail_call: the slot held tc_seen
reg [31:0]       tc_seen;
reg              key_clear, key_wr, key_set;
reg              desc_err_reg = 1'b0, desc_err_next;   // a refused descriptor: 1 MAP_ACCESS, 0 BAD_ADDRESS
reg              adj_we;                               // adjust_head/tail moves data or data_end

assign pkt_rd_en = pkt_rd_en_int;
assign pkt_rd_addr = pkt_ram_word[PKT_ADDR_W-1:0];

wire [PC_W-1:0] pc_inc = pc_reg + 1'b1;

always @* begin
    state_next = state_reg;
    pc_next = pc_reg;
    slot_addr_next = slot_addr_reg;
    cnt_next = cnt_reg + 32'd1;
    wb_dst_next = wb_dst_reg;
    imm_lo_next = imm_lo_reg;

    ld_ctx_next = ld_ctx_reg;
    ld_stack_next = ld_stack_reg;
    ld_lo_win_next = ld_lo_win_reg;
    ld_hi_win_next = ld_hi_win_reg;
    ld_lo_ram_next = ld_lo_ram_reg;
    ld_hi_ram_next = ld_hi_ram_reg;
    ld_word_next = ld_word_reg;
    ld_lane_next = ld_lane_reg;
    ld_size_next = ld_size_reg;
    ld_sx_next = ld_sx_reg;
    ld_ctx_data_next = ld_ctx_data_reg;
    ld_ram_lo_next = ld_ram_lo_reg;

    mreq_sent_next = mreq_sent_reg;
    mreq_op_next = mreq_op_reg;
    mreq_map_next = mreq_map_reg;
    mreq_addr_next = mreq_addr_reg;
    mreq_data_next = mreq_data_reg;
    mreq_be_next = mreq_be_reg;
    cont_next = cont_reg;
    txn_next = txn_reg;
    ld_map_next = ld_map_reg;
    ma_span_next = ma_span_reg;
    mlo_next = mlo_reg;
    mhi_next = mhi_reg;
    at_op_next = at_op_reg;
    at_64_next = at_64_reg;
    at_hi_next = at_hi_reg;
    at_src_next = at_src_reg;
    at_val_next = at_val_reg;
    mst_data_next = mst_data_reg;
    mst_be_next = mst_be_reg;
    h_mid_next = h_mid_reg;
    h_base_next = h_base_reg;
    key_addr_next = key_addr_reg;
    key_left_next = key_left_reg;
    key_pos_next = key_pos_reg;
    ld_key_next = ld_key_reg;
    rm_flags_next = rm_flags_reg;
    rm_key_next = rm_key_reg;
    rm_miss_next = rm_miss_reg;
    map_ops_next = map_ops_reg;
    rmeta_next = rmeta_reg;
    prng_next = prng_reg;
    drew_next = drew_reg;
    prandom_we_next = 1'b0;
    desc_err_next = desc_err_reg;
    cs_addr_next = cs_addr_reg;
    cs_left_next = cs_left_reg;
    cs_to_addr_next = cs_to_addr_reg;
    cs_to_left_next = cs_to_left_reg;
    cs_inv_next = cs_inv_reg;
    ld_cs_next = ld_cs_reg;
    cp_dst_next = cp_dst_reg;
    cp_left_next = cp_left_reg;
    cp_back_next = cp_back_reg;
    cp_phase_next = cp_phase_reg;
    cp_at_src_next = cp_at_src_reg;
    cp_at_dst_next = cp_at_dst_reg;
    cp_last_next = cp_last_reg;
    cp_e1_next = cp_e1_reg;
    cp_data_next = cp_data_reg;
    ld_cp_next = ld_cp_reg;
    cs_clear = 1'b0;
    cs_add = 1'b0;
    mw_on_next = mw_on_reg;
    mw_del_next = mw_del_reg;
    mw_val_next = mw_val_reg;
    mw_hash_next = mw_hash_reg;
    mw_rdonly_next = mw_rdonly_reg;
    mw_vsize_next = mw_vsize_reg;
    mo_drain_next = mo_drain_reg;
    mo_ins_next = mo_ins_reg;
    mo_addr_next = mo_addr_reg;
    mo_w_next = mo_w_reg;
    mo_push = 1'b0;
    mo_push_kind = MOP_WRITE;
    mo_pop = 1'b0;
    // the buffers of a failed run are cleared the cycle after it ends (a register: the fault
    // decision is the end of the executor's longest path), at the latest with the next start
    wb_clear = discard_reg;
    discard_next = 1'b0;
    wb_wr = 1'b0;
    wb_wr_key = ma_abs[31:3];
    wb_wr_data = mu_line_data[63:0];
    wb_wr_be = mu_line_be[7:0];
    wb_drain = 1'b0;
    wb_dr_ready = 1'b0;
    dc_fill = 1'b0;
    dc_fill_idx = mreq_map_reg[1:0];
    replay = 1'b0;
    tc_fin = 1'b0;
    tc_seen = `JITNIC_TAIL_CALL_EMPTY;
    key_clear = 1'b0;
    key_wr = 1'b0;
    key_set = 1'b0;

    done_next = 1'b0;
    action_next = action_reg;
    err_next = err_reg;
    cycles_next = cycles_reg;

    rf_we = 1'b0;
    rf_waddr = wb_dst_reg;
    rf_wdata = alu_result;
    win_we = 1'b0;
    stk_we = 1'b0;
    div_start = 1'b0;
    pkt_rd_en_int = 1'b0;
    pkt_rd_word = mu_lo_ram ? mu_pkt_word : mu_pkt_word1;
    adj_we = 1'b0;
    adv = 1'b0;
    adv_state = STATE_EXEC;
    fin = 1'b0;
    fin_err = `EXEC_ERR_NONE;

    case (state_reg)
        STATE_IDLE: begin
            cnt_next = 32'd1;
            if (start || retry) begin
                map_ops_next = 16'd0;
                rmeta_next = 64'd0;
                drew_next = 1'b0;
                wb_clear = 1'b1;
                if (PREFETCH != 0) begin
                    // slot 0 is read in this cycle: execute it in the next, fetch slot 1 meanwhile
                    state_next = STATE_EXEC;
                    pc_next = {PC_W{1'b0}};
                    slot_addr_next = {{SLOT_W-1{1'b0}}, 1'b1};
                end else begin
                    state_next = STATE_FETCH;
                    pc_next = {PC_W{1'b0}};
                    slot_addr_next = {SLOT_W{1'b0}};
                end
            end
        end
        STATE_FETCH: begin
            // slot_addr (= pc: 0 after start, the target after a taken jump) was read: execute it
            state_next = STATE_EXEC;
            slot_addr_next = slot_addr_reg + 1'b1;
        end
        STATE_EXEC: begin
            if (is_alu) begin
                if (is_divmod) begin
                    div_start = !div_busy;   // never busy here: it finished before this instruction
                    wb_dst_next = d_dst;
                    state_next = STATE_DIV;
                end else begin
                    rf_we = 1'b1;
                    rf_waddr = d_dst;
                    rf_wdata = alu_result;
                    adv = 1'b1;
                end
            end else if (is_lddw) begin
                wb_dst_next = d_dst;
                imm_lo_next = d_imm;
                adv = 1'b1;
                adv_state = STATE_LDHI;
            end else if ((is_ldx || is_st || is_stx || is_atomic) && ma_is_map) begin
                // map value memory: descriptor (cached), bounds, then the map port / write buffer
                if (!c_hit) begin
                    mreq_op_next = `MAP_EX_DESC;
                    mreq_map_next = c_id;
                    desc_err_next = 1'b0;
                    cont_next = CONT_DESC;
                    state_next = STATE_MREQ;
                end else if (!ma_in || (!is_ldx && c_rdonly) || (is_atomic && ma_cross)) begin
                    fin = 1'b1;
                    fin_err = `EXEC_ERR_MAP_ACCESS;
                end else if (is_ldx) begin
                    map_ops_next = map_ops_reg + 16'd1;
                    wb_dst_next = d_dst;
                    ld_map_next = 1'b1;
                    ld_key_next = 1'b0;
                    ld_ctx_next = 1'b0;
                    ld_stack_next = 1'b0;
                    ld_lo_win_next = 1'b0;
                    ld_hi_win_next = 1'b0;
                    ld_lo_ram_next = 1'b0;
                    ld_hi_ram_next = 1'b0;
                    ld_lane_next = ma_off[2:0];
                    ld_size_next = d_opc[4:3];
                    ld_sx_next = d_opc[7:5] == 3'b100;
                    ma_span_next = ma_cross;
                    mreq_op_next = `MAP_EX_READ;
                    mreq_addr_next = {ma_abs[31:3], 3'd0};
                    cont_next = CONT_LDLO;
                    state_next = STATE_MREQ;
                end else if (is_atomic) begin
                    map_ops_next = map_ops_reg + 16'd1;
                    at_op_next = d_imm[7:0];
                    at_64_next = d_opc[4:3] == 2'b11;
                    at_hi_next = ma_off[2];
                    at_src_next = d_src;
                    at_val_next = src_val;
                    mreq_op_next = `MAP_EX_READ;
                    mreq_addr_next = {ma_abs[31:3], 3'd0};
                    cont_next = CONT_ATOM;
                    state_next = STATE_MREQ;
                end else begin
                    // store: into the write buffer (a full buffer is the backstop fault). The
                    // key here is an address add away from a register, so the decision does not
                    // wait for the key compares behind wr_full: a buffer with a free entry takes
                    // the word, and a full one is checked next cycle (STATE_MST1).
                    map_ops_next = map_ops_reg + 16'd1;
                    wb_wr = 1'b1;
                    if (wb_count == WB_FULL_COUNT) begin
                        mst_data_next = mu_line_data[127:64];
                        mst_be_next = mu_line_be[15:8];
                        ma_span_next = ma_cross;
                        mreq_addr_next = {ma_abs[31:3], 3'd0};
                        state_next = STATE_MST1;
                    end else if (ma_cross) begin
                        mst_data_next = mu_line_data[127:64];
                        mst_be_next = mu_line_be[15:8];
                        mreq_addr_next = {ma_abs[31:3] + 29'd1, 3'd0};
                        state_next = STATE_MST2;
                    end else begin
                        adv = 1'b1;
                    end
                end
            end else if (is_atomic) begin
                // atomics only on map values (docs/exec.md)
                fin = 1'b1;
                fin_err = mu_err != `EXEC_ERR_NONE ? mu_err : `EXEC_ERR_BAD_ADDRESS;
            end else if (is_call && (h_cpu || h_redirect)) begin
                rf_we = 1'b1;
                rf_waddr = 4'd0;
                if (h_cpu) begin
                    rf_wdata = `JITNIC_NIC_CPU;
                end else if (rf_reg[2] != 64'd0) begin
                    rf_wdata = {32'd0, `XDP_ABORTED};          // flags: none are defined
                end else begin
                    rf_wdata = {32'd0, `XDP_REDIRECT};
                    rmeta_next = {30'd0, 2'd1, rf_reg[1][31:0]};  // RedirectKind.IFINDEX
                end
                adv = 1'b1;
            end else if (is_call && (h_adjh || h_adjt)) begin
                // bpf_xdp_adjust_head/tail: -EINVAL as the kernel, ADJUST_RANGE beyond the NIC
                if (adj_range) begin
                    fin = 1'b1;
                    fin_err = `EXEC_ERR_ADJUST_RANGE;
                end else begin
                    rf_we = 1'b1;
                    rf_waddr = 4'd0;
                    rf_wdata = adj_einval ? EINVAL_R0 : 64'd0;
                    adj_we = !adj_einval;
                    adv = 1'b1;
                end
            end else if (is_call && h_prandom) begin
                if (!m_grant) begin
                    state_next = STATE_WAITG;
                end else begin
                    prng_next = prng_step;
                    drew_next = 1'b1;
                    rf_we = 1'b1;
                    rf_waddr = 4'd0;
                    rf_wdata = {32'd0, prng_step};
                    adv = 1'b1;
                end
            end else if (is_call && h_ktime) begin
                rf_we = 1'b1;
                rf_waddr = 4'd0;
                rf_wdata = ts_reg;
                adv = 1'b1;
            end else if (is_call && h_csum) begin
                // csum_diff(from r1, from_size r2, to r3, to_size r4, seed r5)
                if (cs_bad) begin
                    rf_we = 1'b1;
                    rf_waddr = 4'd0;
                    rf_wdata = EINVAL_R0;
                    adv = 1'b1;
                end else begin
                    cs_clear = 1'b1;
                    cs_addr_next = rf_reg[1];
                    cs_left_next = rf_reg[2][9:0];
                    cs_to_addr_next = rf_reg[3];
                    cs_to_left_next = rf_reg[4][9:0];
                    cs_inv_next = 1'b1;
                    state_next = STATE_CSUM;
                end
            end else if (is_call && (h_lbytes || h_sbytes)) begin
                // xdp_load_bytes / xdp_store_bytes(ctx r1 (unused), off r2, buf r3, len r4)
                rf_waddr = 4'd0;
                if (cp_efault) begin
                    rf_we = 1'b1;
                    rf_wdata = EFAULT_R0;
                    adv = 1'b1;
                end else if (cp_einval) begin
                    rf_we = 1'b1;
                    rf_wdata = EINVAL_R0;
                    adv = 1'b1;
                end else if (cp_n_in == 17'd0) begin
                    rf_we = 1'b1;                  // (nothing copied; docs/exec.md known differences)
                    rf_wdata = 64'd0;
                    adv = 1'b1;
                end else if (h_sbytes && cp_nowin) begin
                    fin = 1'b1;
                    fin_err = `EXEC_ERR_STORE_WINDOW;
                end else begin
                    cp_dst_next = h_lbytes ? rf_reg[3] : cp_pkt;
                    cp_back_next = h_lbytes ? rf_reg[3] > cp_pkt : cp_pkt > rf_reg[3];
                    cp_left_next = cp_n_in;
                    // the first chunk: offset 0 forwards, the top chunk backwards
                    cp_at_src_next = (h_lbytes ? cp_pkt : rf_reg[3])
                                     + (cp_back_next ? {47'd0, cp_off0_back} : 64'd0);
                    cp_at_dst_next = cp_dst_next + (cp_back_next ? {47'd0, cp_off0_back} : 64'd0);
                    cp_last_next = cp_dst_next + {47'd0, cp_n_in} - 64'd1;
                    cp_phase_next = h_lbytes ? CP_CHK1 : CP_LOAD;
                    state_next = STATE_COPY;
                end
            end else if (is_call) begin
                // map helpers: lookup, redirect_map, tail_call
                if (!h_is_handle) begin
                    fin = 1'b1;
                    fin_err = `EXEC_ERR_MAP_ACCESS;
                end else if (!c_hit) begin
                    mreq_op_next = `MAP_EX_DESC;
                    mreq_map_next = c_id;
                    desc_err_next = 1'b1;
                    cont_next = CONT_DESC;
                    state_next = STATE_MREQ;
                end else if (h_lookup) begin
                    map_ops_next = map_ops_reg + 16'd1;
                    h_mid_next = c_id;
                    h_base_next = c_base;
                    key_addr_next = rf_reg[2];
                    key_left_next = c_ksize;
                    key_pos_next = 7'd0;
                    key_clear = 1'b1;
                    state_next = STATE_KEY;
                end else if (h_update || h_delete) begin
                    // update/delete: gather the key (and value), then LOOKUP it (CONT_MW)
                    if (!mw_type_ok || (h_update && {16'd0, c_vsize} > VAL_BYTES)) begin
                        fin = 1'b1;                        // refused by the tracer (docs/exec.md)
                        fin_err = `EXEC_ERR_MAP_ACCESS;
                    end else begin
                        map_ops_next = map_ops_reg + 16'd1;
                        h_mid_next = c_id;
                        h_base_next = c_base;
                        key_addr_next = rf_reg[2];
                        key_left_next = c_ksize;
                        key_pos_next = 7'd0;
                        key_clear = 1'b1;
                        mw_on_next = 1'b1;
                        mw_del_next = h_delete;
                        mw_val_next = 1'b0;
                        mw_hash_next = mw_is_hash;
                        mw_rdonly_next = c_rdonly;
                        mw_vsize_next = c_vsize[7:0];
                        state_next = STATE_KEY;
                    end
                end else if (h_rmap) begin
                    map_ops_next = map_ops_reg + 16'd1;
                    rf_we = 1'b1;
                    rf_waddr = 4'd0;
                    if (rm_bad_flags) begin
                        rf_wdata = {32'd0, `XDP_ABORTED};      // the target stays as it was
                        adv = 1'b1;
                    end else if (rm_devmap) begin
                        rf_we = 1'b0;
                        h_mid_next = c_id;
                        rm_key_next = rf_reg[2][31:0];
                        rm_flags_next = rf_reg[3][3] ? rf_reg[3][15:0] : 16'd0;   // BPF_F_BROADCAST
                        rm_miss_next = {1'b0, rf_reg[3][1:0]};
                        key_set = 1'b1;
                        mreq_op_next = `MAP_EX_LOOKUP;
                        mreq_map_next = c_id;
                        cont_next = CONT_RMAP;
                        state_next = STATE_MREQ;
                    end else begin
                        rf_wdata = {62'd0, rf_reg[3][1:0]};    // no target: the flags' action
                        rmeta_next = 64'd0;
                        adv = 1'b1;
                    end
                end else begin
                    // tail_call: a guard on the prog_array slot r3 (r4 = the program id expected)
                    if (c_type != `MAP_TYPE_PROG_ARRAY || rf_reg[1] != {32'd0, `JITNIC_CTX_BASE}) begin
                        fin = 1'b1;
                        fin_err = `EXEC_ERR_MAP_ACCESS;
                    end else if (!tc_in) begin
                        tc_fin = 1'b1;
                    end else begin
                        mreq_op_next = `MAP_EX_READ;
                        mreq_addr_next = tc_addr;
                        cont_next = CONT_TCHDR;
                        state_next = STATE_MREQ;
                    end
                end
            end else if (is_ldx) begin
                if (mu_err != `EXEC_ERR_NONE) begin
                    fin = 1'b1;
                    fin_err = mu_err;
                end else begin
                    wb_dst_next = d_dst;
                    ld_map_next = 1'b0;
                    ld_key_next = 1'b0;
                    ld_ctx_next = mu_ctx;
                    ld_stack_next = mu_stack;
                    ld_lo_win_next = mu_pkt && !mu_lo_ram;
                    ld_hi_win_next = mu_pkt && mu_span && !mu_hi_ram;
                    ld_lo_ram_next = mu_lo_ram;
                    ld_hi_ram_next = mu_hi_ram;
                    ld_word_next = mu_word;
                    ld_lane_next = mu_ctx ? 3'd0 : mu_lane;
                    ld_size_next = d_opc[4:3];
                    ld_sx_next = d_opc[7:5] == 3'b100;
                    ld_ctx_data_next = mu_ctx_data;
                    pkt_rd_en_int = mu_lo_ram || mu_hi_ram;
                    state_next = STATE_LOAD;
                end
            end else if (is_st || is_stx) begin
                if (mu_err != `EXEC_ERR_NONE) begin
                    fin = 1'b1;
                    fin_err = mu_err;
                end else begin
                    win_we = mu_pkt;
                    stk_we = mu_stack;
                    adv = 1'b1;
                end
            end else if (is_exit) begin
                if (wb_count != 0 || mo_count != 0) begin
                    wb_drain = 1'b1;               // commit: the buffered writes, then done
                    state_next = STATE_DRAIN;
                end else begin
                    fin = 1'b1;
                    fin_err = `EXEC_ERR_NONE;
                end
            end else if (is_ja || is_jcond) begin
                if (!j_cond) begin
                    adv = 1'b1;
                end else if (j_guard) begin
                    fin = 1'b1;
                    fin_err = `EXEC_ERR_GUARD;
                end else if (j_bad) begin
                    fin = 1'b1;
                    fin_err = `EXEC_ERR_FELL_OFF;
                end else begin
                    // taken: address the target now, execute it after one fetch cycle
                    pc_next = j_tgt[PC_W-1:0];
                    slot_addr_next = j_tgt[SLOT_W-1:0];
                    state_next = STATE_FETCH;
                end
            end else begin
                fin = 1'b1;
                fin_err = `EXEC_ERR_BAD_OPCODE;
            end
        end
        STATE_LDHI: begin
            // second slot of LD_IMM64: opcode, registers and offset must be zero (jit/isa.py decode)
            if (slot_data[31:0] != 32'd0) begin
                fin = 1'b1;
                fin_err = `EXEC_ERR_BAD_OPCODE;
            end else begin
                rf_we = 1'b1;
                rf_wdata = {slot_data[63:32], imm_lo_reg};
                adv = 1'b1;
            end
        end
        STATE_LOAD: begin
            if (ld_lo_ram_reg && ld_hi_ram_reg) begin
                ld_ram_lo_next = pkt_rd_data;
                pkt_rd_en_int = 1'b1;
                pkt_rd_word = ld_word1;
                state_next = STATE_LOAD2;
            end else if (ld_key_reg) begin
                key_wr = 1'b1;
                state_next = STATE_KEY;
            end else if (ld_cs_reg) begin
                cs_add = 1'b1;
                ld_cs_next = 1'b0;
                state_next = STATE_CSUM;
            end else if (ld_cp_reg) begin
                cp_data_next = mu_rsp_data;
                ld_cp_next = 1'b0;
                cp_phase_next = CP_STORE;
                state_next = STATE_COPY;
            end else begin
                rf_we = 1'b1;
                rf_wdata = mu_rsp_data;
                adv = 1'b1;
            end
        end
        STATE_LOAD2: begin
            if (ld_key_reg) begin
                key_wr = 1'b1;
                state_next = STATE_KEY;
            end else if (ld_cs_reg) begin
                cs_add = 1'b1;
                ld_cs_next = 1'b0;
                state_next = STATE_CSUM;
            end else if (ld_cp_reg) begin
                cp_data_next = mu_rsp_data;
                ld_cp_next = 1'b0;
                cp_phase_next = CP_STORE;
                state_next = STATE_COPY;
            end else begin
                rf_we = 1'b1;
                rf_wdata = mu_rsp_data;
                adv = 1'b1;
            end
        end
        STATE_KEY: begin
            if (key_left_reg == 8'd0 && mw_on_reg) begin
                if (!mw_del_reg && !mw_val_reg) begin
                    mw_val_next = 1'b1;                // key done: now the value at r3
                    key_addr_next = rf_reg[3];
                    key_left_next = mw_vsize_reg;
                    key_pos_next = 7'd0;
                end else if ((!mw_del_reg && mw_flags_bad) || (mw_del_reg && !mw_hash_reg)) begin
                    rf_we = 1'b1;                      // decided without the map: -EINVAL
                    rf_waddr = 4'd0;
                    rf_wdata = EINVAL_R0;
                    mw_on_next = 1'b0;
                    mw_val_next = 1'b0;
                    adv = 1'b1;
                end else begin
                    mreq_op_next = `MAP_EX_LOOKUP;
                    mreq_map_next = h_mid_reg;
                    cont_next = CONT_MW;
                    state_next = STATE_MREQ;
                end
            end else if (key_left_reg == 8'd0) begin
                mreq_op_next = `MAP_EX_LOOKUP;
                mreq_map_next = h_mid_reg;
                cont_next = CONT_LOOKUP;
                state_next = STATE_MREQ;
            end else if (mu_err != `EXEC_ERR_NONE) begin
                fin = 1'b1;                        // (a key in map memory: BAD_ADDRESS, docs/exec.md)
                fin_err = mu_err;
            end else begin
                ld_map_next = 1'b0;
                ld_key_next = 1'b1;
                ld_ctx_next = mu_ctx;
                ld_stack_next = mu_stack;
                ld_lo_win_next = mu_pkt && !mu_lo_ram;
                ld_hi_win_next = mu_pkt && mu_span && !mu_hi_ram;
                ld_lo_ram_next = mu_lo_ram;
                ld_hi_ram_next = mu_hi_ram;
                ld_word_next = mu_word;
                ld_lane_next = mu_ctx ? 3'd0 : mu_lane;
                ld_size_next = key_left_reg >= 8'd8 ? 2'd3 : 2'd2;
                ld_sx_next = 1'b0;
                ld_ctx_data_next = mu_ctx_data;
                pkt_rd_en_int = mu_lo_ram || mu_hi_ram;
                state_next = STATE_LOAD;
            end
        end
        STATE_CSUM: begin
            if (cs_left_reg == 10'd0 && cs_inv_reg) begin
                cs_addr_next = cs_to_addr_reg;     // `from` done: the `to` part
                cs_left_next = cs_to_left_reg;
                cs_inv_next = 1'b0;
            end else if (cs_left_reg == 10'd0) begin
                rf_we = 1'b1;
                rf_waddr = 4'd0;
                rf_wdata = {32'd0, cs_sum};
                adv = 1'b1;
            end else if (mu_err != `EXEC_ERR_NONE || mu_ctx) begin
                fin = 1'b1;                        // (bytes in map memory: BAD_ADDRESS, docs/exec.md)
                fin_err = mu_ctx ? `EXEC_ERR_CTX_ACCESS : mu_err;   // the model: helpers never read the context
            end else begin
                ld_map_next = 1'b0;
                ld_key_next = 1'b0;
                ld_cs_next = 1'b1;
                ld_ctx_next = mu_ctx;
                ld_stack_next = mu_stack;
                ld_lo_win_next = mu_pkt && !mu_lo_ram;
                ld_hi_win_next = mu_pkt && mu_span && !mu_hi_ram;
                ld_lo_ram_next = mu_lo_ram;
                ld_hi_ram_next = mu_hi_ram;
                ld_word_next = mu_word;
                ld_lane_next = mu_ctx ? 3'd0 : mu_lane;
                ld_size_next = cs_wide ? 2'd3 : 2'd0;
                ld_sx_next = 1'b0;
                ld_ctx_data_next = mu_ctx_data;
                pkt_rd_en_int = mu_lo_ram || mu_hi_ram;
                cs_addr_next = cs_addr_reg + (cs_wide ? 64'd8 : 64'd4);
                cs_left_next = cs_left_reg - (cs_wide ? 10'd8 : 10'd4);
                state_next = STATE_LOAD;
            end
        end
        STATE_COPY: begin
            case (cp_phase_reg)
                CP_CHK1: begin
                    // the destination's first byte: a STORE_WINDOW may still become the bound's fault
                    if (mu_err != `EXEC_ERR_NONE && mu_err != `EXEC_ERR_STORE_WINDOW) begin
                        fin = 1'b1;
                        fin_err = mu_err;
                    end else begin
                        cp_e1_next = mu_err;
                        cp_phase_next = CP_CHK2;
                    end
                end
                CP_CHK2: begin
                    // its last byte: outside the region wins over outside the window
                    if (mu_err != `EXEC_ERR_NONE || cp_e1_reg != `EXEC_ERR_NONE) begin
                        fin = 1'b1;
                        fin_err = mu_err != `EXEC_ERR_NONE ? mu_err : cp_e1_reg;
                    end else begin
                        cp_phase_next = CP_LOAD;
                    end
                end
                CP_LOAD: begin
                    if (cp_left_reg == 17'd0) begin
                        rf_we = 1'b1;
                        rf_waddr = 4'd0;
                        rf_wdata = 64'd0;
                        adv = 1'b1;
                    end else if (mu_err != `EXEC_ERR_NONE || mu_ctx) begin
                        fin = 1'b1;                // (a source in map memory: BAD_ADDRESS, docs/exec.md)
                        fin_err = mu_ctx ? `EXEC_ERR_CTX_ACCESS : mu_err;
                    end else begin
                        ld_map_next = 1'b0;
                        ld_key_next = 1'b0;
                        ld_cp_next = 1'b1;
                        ld_ctx_next = 1'b0;
                        ld_stack_next = mu_stack;
                        ld_lo_win_next = mu_pkt && !mu_lo_ram;
                        ld_hi_win_next = mu_pkt && mu_span && !mu_hi_ram;
                        ld_lo_ram_next = mu_lo_ram;
                        ld_hi_ram_next = mu_hi_ram;
                        ld_word_next = mu_word;
                        ld_lane_next = mu_lane;
                        ld_size_next = cp_wide ? 2'd3 : 2'd2;
                        ld_sx_next = 1'b0;
                        pkt_rd_en_int = mu_lo_ram || mu_hi_ram;
                        state_next = STATE_LOAD;
                    end
                end
                default: begin                     // CP_STORE (its range was checked: cannot fault)
                    if (mu_err != `EXEC_ERR_NONE) begin
                        fin = 1'b1;
                        fin_err = mu_err;
                    end else begin
                        win_we = mu_pkt;
                        stk_we = mu_stack;
                        cp_left_next = cp_left_after;
                        cp_at_src_next = cp_at_src_reg + cp_step;
                        cp_at_dst_next = cp_at_dst_reg + cp_step;
                        cp_phase_next = CP_LOAD;
                    end
                end
            endcase
        end
        STATE_MST1: begin
            // the first word of a store that found the buffer full: last cycle's write merged
            // into a buffered word, or it was refused (the word has no entry now)
            if (wb_refused) begin
                fin = 1'b1;
                fin_err = `EXEC_ERR_MAP_ACCESS;
            end else if (ma_span_reg) begin
                mreq_addr_next = {mreq_addr_reg[31:3] + 29'd1, 3'd0};
                state_next = STATE_MST2;
            end else begin
                adv = 1'b1;
            end
        end
        STATE_MST2: begin
            wb_wr = 1'b1;
            wb_wr_key = mreq_addr_reg[31:3];
            wb_wr_data = mst_data_reg;
            wb_wr_be = mst_be_reg;
            if (wb_refused) begin
                fin = 1'b1;
                fin_err = `EXEC_ERR_MAP_ACCESS;
            end else begin
                adv = 1'b1;
            end
        end
        STATE_WAITG: begin
            replay = m_grant;
        end
        STATE_MOP: begin
            // the head entry: DELETE; or INSERT (hash, new key) then its value words as WRITEs
            mreq_map_next = mo_dr_map;
            state_next = STATE_MREQ;
            if (!mo_dr_valid) begin
                state_next = STATE_MOP;
                fin = 1'b1;
                fin_err = `EXEC_ERR_NONE;
            end else if (mo_dr_kind == MOP_DELETE) begin
                mreq_op_next = `MAP_EX_DELETE;
                cont_next = CONT_MOPD;
            end else if (mo_dr_kind == MOP_INSERT && !mo_ins_reg) begin
                mreq_op_next = `MAP_EX_INSERT;
                cont_next = CONT_MOPI;
            end else if (mo_w_reg == mo_dr_words) begin
                mo_pop = 1'b1;                     // entry done: the next one
                mo_ins_next = 1'b0;
                mo_w_next = {VW_W{1'b0}};
                state_next = STATE_MOP;
            end else begin
                mreq_op_next = `MAP_EX_WRITE;
                mreq_addr_next = (mo_dr_kind == MOP_INSERT ? mo_addr_reg : mo_dr_addr)
                                 + {{(32-VW_W-3){1'b0}}, mo_w_reg, 3'd0};
                mreq_data_next = mo_dr_wdata;
                mreq_be_next = mo_dr_wbe;
                cont_next = CONT_MOPW;
            end
        end
        STATE_DRAIN: begin
            // (the buffer's drain_done pulse may fall while a WRITE is out: it is empty after it)
            if (wb_count == 0 && !wb_dr_valid && mo_dr_valid) begin
                mo_drain_next = 1'b1;              // then the map updates/deletes
                mo_ins_next = 1'b0;
                mo_w_next = {VW_W{1'b0}};
                state_next = STATE_MOP;
            end else if (wb_count == 0 && !wb_dr_valid) begin
                fin = 1'b1;
                fin_err = `EXEC_ERR_NONE;
            end else if (wb_dr_valid) begin
                wb_dr_ready = 1'b1;
                mreq_op_next = `MAP_EX_WRITE;
                mreq_addr_next = {wb_dr_key, 3'd0};
                mreq_data_next = wb_dr_data;
                mreq_be_next = wb_dr_be;
                cont_next = CONT_DRAIN;
                state_next = STATE_MREQ;
            end
        end
        STATE_MREQ: begin
            if (m_req_valid && m_req_ready) begin
                mreq_sent_next = 1'b1;
                txn_next = 1'b1;
            end
            if (mreq_sent_reg && m_resp_valid) begin
                mreq_sent_next = 1'b0;
                case (cont_reg)
                    CONT_DESC: begin
                        if (m_resp_ok) begin
                            dc_fill = 1'b1;
                            replay = 1'b1;
                        end else begin
                            fin = 1'b1;            // the model: a helper's map MAP_ACCESS, an address BAD_ADDRESS
                            fin_err = desc_err_reg ? `EXEC_ERR_MAP_ACCESS : `EXEC_ERR_BAD_ADDRESS;
                        end
                    end
                    CONT_LDLO: begin
                        mlo_next = m_word;
                        if (ma_span_reg) begin
                            mreq_addr_next = mreq_addr_reg + 32'd8;
                            cont_next = CONT_LDHI;
                        end else begin
                            state_next = STATE_LOAD;
                        end
                    end
                    CONT_LDHI: begin
                        mhi_next = m_word;
                        state_next = STATE_LOAD;
                    end
                    CONT_ATOM: begin
                        wb_wr = at_store;
                        wb_wr_key = mreq_addr_reg[31:3];
                        wb_wr_data = at_64_reg ? at_new : (at_hi_reg ? {at_new[31:0], 32'd0} : at_new);
                        wb_wr_be = at_64_reg ? 8'hff : (at_hi_reg ? 8'hf0 : 8'h0f);
                        if (at_store && wb_refused) begin
                            fin = 1'b1;
                            fin_err = `EXEC_ERR_MAP_ACCESS;
                        end else begin
                            if (at_op_reg == 8'hf1) begin           // cmpxchg: r0 = old
                                rf_we = 1'b1;
                                rf_waddr = 4'd0;
                                rf_wdata = at_old;
                            end else if (at_op_reg[0]) begin        // fetch, xchg: src = old
                                rf_we = 1'b1;
                                rf_waddr = at_src_reg;
                                rf_wdata = at_old;
                            end
                            adv = 1'b1;
                        end
                    end
                    CONT_LOOKUP: begin
                        rf_we = 1'b1;
                        rf_waddr = 4'd0;
                        rf_wdata = m_resp_ok ? {24'd0, h_mid_reg, MAP_BASE + (m_resp_addr - h_base_reg)} : 64'd0;
                        adv = 1'b1;
                    end
                    CONT_RMAP: begin
                        rf_we = 1'b1;
                        rf_waddr = 4'd0;
                        if (m_resp_ok || rm_flags_reg[3]) begin
                            rf_wdata = {32'd0, `XDP_REDIRECT};
                            rmeta_next = {rm_flags_reg, h_mid_reg, 6'd0, 2'd2, rm_key_reg};  // RedirectKind.MAP
                        end else begin
                            rf_wdata = {61'd0, rm_miss_reg};
                            rmeta_next = 64'd0;
                        end
                        adv = 1'b1;
                    end
                    CONT_TCHDR: begin
                        if (m_resp_data[0]) begin
                            mreq_addr_next = mreq_addr_reg + 32'd8;
                            cont_next = CONT_TCVAL;
                        end else begin
                            tc_fin = 1'b1;             // empty slot
                        end
                    end
                    CONT_TCVAL: begin
                        tc_fin = 1'b1;
                        tc_seen = m_resp_data[31:0];
                    end
                    CONT_MW: begin
                        // r0 as the model's helper decides it against the map (docs/exec.md)
                        rf_we = 1'b1;
                        rf_waddr = 4'd0;
                        rf_wdata = 64'd0;
                        mw_on_next = 1'b0;
                        mw_val_next = 1'b0;
                        if (mw_del_reg) begin          // hash delete
                            mo_push = m_resp_ok;
                            mo_push_kind = MOP_DELETE;
                            rf_wdata = m_resp_ok ? 64'd0 : ENOENT_R0;
                        end else if (!mw_hash_reg) begin   // array update
                            if (!m_resp_ok) begin
                                rf_wdata = E2BIG_R0;
                            end else if (rf_reg[4][1:0] == 2'd1) begin
                                rf_wdata = EEXIST_R0;
                            end else if (mw_rdonly_reg) begin
                                rf_wdata = EPERM_R0;
                            end else begin
                                mo_push = 1'b1;
                            end
                        end else if (m_resp_ok && rf_reg[4][1:0] == 2'd1) begin
                            rf_wdata = EEXIST_R0;
                        end else if (!m_resp_ok && rf_reg[4][1:0] == 2'd2) begin
                            rf_wdata = ENOENT_R0;
                        end else if (!m_resp_ok && !m_resp_data[0]) begin
                            rf_wdata = E2BIG_R0;       // table full
                        end else begin
                            mo_push = 1'b1;
                            mo_push_kind = m_resp_ok ? MOP_WRITE : MOP_INSERT;
                        end
                        if (mo_push && mo_full) begin
                            rf_we = 1'b0;
                            fin = 1'b1;                // the backstop: the tracer refuses such traces
                            fin_err = `EXEC_ERR_MAP_ACCESS;
                        end else begin
                            adv = 1'b1;
                        end
                    end
                    CONT_MOPI: begin
                        mo_ins_next = 1'b1;
                        mo_addr_next = m_resp_addr;
                        state_next = STATE_MOP;
                    end
                    CONT_MOPW: begin
                        mo_w_next = mo_w_reg + 1'b1;
                        state_next = STATE_MOP;
                    end
                    CONT_MOPD: begin
                        mo_pop = 1'b1;
                        state_next = STATE_MOP;
                    end
                    default: begin                     // CONT_DRAIN
                        state_next = STATE_DRAIN;
                    end
                endcase
            end
        end
        STATE_DIV: begin
            if (div_done) begin
                rf_we = 1'b1;
                rf_wdata = div_result;
                adv = 1'b1;
            end
        end
        default: begin
            state_next = STATE_IDLE;
        end
    endcase

    if (key_wr) begin
        key_pos_next = key_pos_reg + (ld_size_reg == 2'd3 ? 7'd8 : 7'd1);
        key_left_next = key_left_reg - (ld_size_reg == 2'd3 ? 8'd8 : 8'd1);
        key_addr_next = key_addr_reg + (ld_size_reg == 2'd3 ? 64'd8 : 64'd1);
    end

    if (tc_fin) begin
        if (tc_seen != rf_reg[4][31:0]) begin
            fin = 1'b1;
            fin_err = `EXEC_ERR_GUARD;
        end else begin
            rf_we = 1'b1;
            rf_waddr = 4'd0;
            rf_wdata = tc_seen == `JITNIC_TAIL_CALL_EMPTY ? ENOENT_R0 : 64'd0;
            adv = 1'b1;
        end
    end

    if (replay) begin
        slot_addr_next = pc_reg[SLOT_W-1:0];
        state_next = STATE_FETCH;
    end

    if (adv) begin
        if ({{(32-PC_W){1'b0}}, pc_inc} >= PC_END) begin
            fin = 1'b1;
            fin_err = `EXEC_ERR_FELL_OFF;
        end else begin
            pc_next = pc_inc;
            slot_addr_next = slot_addr_reg + 1'b1;
            state_next = adv_state;
        end
    end

    if (fin) begin
        state_next = STATE_IDLE;
        done_next = 1'b1;
        mw_on_next = 1'b0;
        mw_val_next = 1'b0;
        mo_drain_next = 1'b0;
        txn_next = 1'b0;
        discard_next = fin_err != `EXEC_ERR_NONE;    // a guard failure or fault discards the writes
        prandom_we_next = fin_err == `EXEC_ERR_NONE && drew_reg;
        err_next = fin_err;
        action_next = fin_err == `EXEC_ERR_NONE ? r0_lo : 32'd0;
        cycles_next = cnt_reg + 32'd1;
    end
end

// ---- registers ---------------------------------------------------------------------------------
always @(posedge clk) begin
    state_reg <= state_next;
    pc_reg <= pc_next;
    slot_addr_reg <= slot_addr_next;
    cnt_reg <= cnt_next;
    wb_dst_reg <= wb_dst_next;
    imm_lo_reg <= imm_lo_next;
    if (state_reg == STATE_EXEC) begin
        insn_reg <= slot_data;
    end
    if (state_reg == STATE_IDLE && (start || retry)) begin
        tlen_reg <= trace_len;
    end

    ld_ctx_reg <= ld_ctx_next;
    ld_stack_reg <= ld_stack_next;
    ld_lo_win_reg <= ld_lo_win_next;
    ld_hi_win_reg <= ld_hi_win_next;
    ld_lo_ram_reg <= ld_lo_ram_next;
    ld_hi_ram_reg <= ld_hi_ram_next;
    ld_word_reg <= ld_word_next;
    ld_lane_reg <= ld_lane_next;
    ld_size_reg <= ld_size_next;
    ld_sx_reg <= ld_sx_next;
    ld_ctx_data_reg <= ld_ctx_data_next;
    ld_ram_lo_reg <= ld_ram_lo_next;

    mreq_sent_reg <= mreq_sent_next;
    mreq_op_reg <= mreq_op_next;
    mreq_map_reg <= mreq_map_next;
    mreq_addr_reg <= mreq_addr_next;
    mreq_data_reg <= mreq_data_next;
    mreq_be_reg <= mreq_be_next;
    cont_reg <= cont_next;
    txn_reg <= txn_next;
    ld_map_reg <= ld_map_next;
    ma_span_reg <= ma_span_next;
    mlo_reg <= mlo_next;
    mhi_reg <= mhi_next;
    at_op_reg <= at_op_next;
    at_64_reg <= at_64_next;
    at_hi_reg <= at_hi_next;
    at_src_reg <= at_src_next;
    at_val_reg <= at_val_next;
    mst_data_reg <= mst_data_next;
    mst_be_reg <= mst_be_next;
    h_mid_reg <= h_mid_next;
    h_base_reg <= h_base_next;
    key_addr_reg <= key_addr_next;
    key_left_reg <= key_left_next;
    key_pos_reg <= key_pos_next;
    ld_key_reg <= ld_key_next;
    rm_flags_reg <= rm_flags_next;
    rm_key_reg <= rm_key_next;
    rm_miss_reg <= rm_miss_next;
    map_ops_reg <= map_ops_next;
    rmeta_reg <= rmeta_next;
    prng_reg <= prng_next;
    drew_reg <= drew_next;
    prandom_we_reg <= prandom_we_next;
    desc_err_reg <= desc_err_next;
    cs_addr_reg <= cs_addr_next;
    cs_left_reg <= cs_left_next;
    cs_to_addr_reg <= cs_to_addr_next;
    cs_to_left_reg <= cs_to_left_next;
    cs_inv_reg <= cs_inv_next;
    ld_cs_reg <= ld_cs_next;
    cp_dst_reg <= cp_dst_next;
    cp_left_reg <= cp_left_next;
    cp_back_reg <= cp_back_next;
    cp_phase_reg <= cp_phase_next;
    cp_at_src_reg <= cp_at_src_next;
    cp_at_dst_reg <= cp_at_dst_next;
    cp_last_reg <= cp_last_next;
    cp_e1_reg <= cp_e1_next;
    cp_data_reg <= cp_data_next;
    ld_cp_reg <= ld_cp_next;
    mw_on_reg <= mw_on_next;
    mw_del_reg <= mw_del_next;
    mw_val_reg <= mw_val_next;
    mw_hash_reg <= mw_hash_next;
    mw_rdonly_reg <= mw_rdonly_next;
    mw_vsize_reg <= mw_vsize_next;
    mo_drain_reg <= mo_drain_next;
    mo_ins_reg <= mo_ins_next;
    mo_addr_reg <= mo_addr_next;
    mo_w_reg <= mo_w_next;

    done_reg <= done_next;
    discard_reg <= discard_next;
    action_reg <= action_next;
    err_reg <= err_next;
    cycles_reg <= cycles_next;

    if (rst) begin
        state_reg <= STATE_IDLE;
        pc_reg <= {PC_W{1'b0}};
        slot_addr_reg <= {SLOT_W{1'b0}};
        cnt_reg <= 32'd0;
        done_reg <= 1'b0;
        discard_reg <= 1'b0;
        action_reg <= 32'd0;
        err_reg <= `EXEC_ERR_NONE;
        cycles_reg <= 32'd0;
        mreq_sent_reg <= 1'b0;
        txn_reg <= 1'b0;
        prandom_we_reg <= 1'b0;
        mw_on_reg <= 1'b0;
        mw_val_reg <= 1'b0;
        mo_drain_reg <= 1'b0;
    end
end

// map_lookup_elem's key: cleared at the call, then filled 8 bytes (or 1) per load; redirect_map
// looks its devmap up with the 4-byte key r2
integer kb;
wire [31:0] key_pos32 = {25'd0, key_pos_reg};
always @(posedge clk) begin
    if (key_clear) begin
        key_reg <= {KEY_BYTES*8{1'b0}};
    end else if (key_set) begin
        key_reg <= {{(KEY_BYTES*8-32){1'b0}}, rf_reg[2][31:0]};
    end else if (key_wr && !mw_val_reg) begin
        for (kb = 0; kb < KEY_BYTES; kb = kb + 1) begin
            if (kb >= key_pos32 && kb < key_pos32 + (ld_size_reg == 2'd3 ? 32'd8 : 32'd1)) begin
                key_reg[kb*8 +: 8] <= mu_rsp_data[(kb - key_pos32)*8 +: 8];
            end
        end
    end
end

// map_update_elem's value: filled like the key while mw_val_reg (bytes past the value are never
// written out: jitnic_mapops' byte enables stop at its size)
integer vb;
always @(posedge clk) begin
    if (key_wr && mw_val_reg) begin
        for (vb = 0; vb < VAL_BYTES; vb = vb + 1) begin
            if (vb >= key_pos32 && vb < key_pos32 + (ld_size_reg == 2'd3 ? 32'd8 : 32'd1)) begin
                val_reg[vb*8 +: 8] <= mu_rsp_data[(vb - key_pos32)*8 +: 8];
            end
        end
    end
end

// descriptor cache: emptied per attempt, filled by DESC responses
always @(posedge clk) begin
    if (state_reg == STATE_IDLE && (start || retry)) begin
        dc_valid_reg <= 4'd0;
    end else if (dc_fill) begin
        dc_valid_reg[dc_fill_idx] <= 1'b1;
        dc_id_mem[dc_fill_idx] <= mreq_map_reg;
        dc_base_mem[dc_fill_idx] <= m_resp_addr;
        dc_word_mem[dc_fill_idx] <= m_resp_data;
    end
    if (rst) begin
        dc_valid_reg <= 4'd0;
    end
end

// register file: reset to the entry state at start, one write port
integer i;
always @(posedge clk) begin
    if (state_reg == STATE_IDLE && (start || retry)) begin
        for (i = 0; i < 16; i = i + 1) begin
            rf_reg[i] <= 64'd0;
        end
        rf_reg[1] <= {32'd0, `JITNIC_CTX_BASE};
        rf_reg[10] <= {32'd0, `JITNIC_STACK_TOP};
    end else if (rf_we) begin
        rf_reg[rf_waddr] <= rf_wdata;
    end
end

// header window: copied at start (behind a zero head margin), written by packet stores (bytes of
// words w and w+1); data/data_end: set at start, moved by adjust_head/tail (a grown tail's bytes
// are cleared, as the kernel does)
integer j, wb;
always @(posedge clk) begin
    if (state_reg == STATE_IDLE && start) begin
        win_reg <= {hdr_in, {HEAD*8{1'b0}}};
        win0_reg <= hdr_in;
        len_reg <= pkt_len;
        data_pos_reg <= HEAD16;
        end_pos_reg <= HEAD16 + pkt_len;
    end else if (state_reg == STATE_IDLE && retry) begin
        win_reg <= {win0_reg, {HEAD*8{1'b0}}};   // the frame as it was at start (pkt_len kept)
        data_pos_reg <= HEAD16;
        end_pos_reg <= HEAD16 + len_reg;
    end else if (adj_we) begin
        if (h_adjh) begin
            data_pos_reg <= adj_new_pos;
        end else begin
            end_pos_reg <= adj_new_pos;
            for (j = 0; j < WIN_WORDS * 8; j = j + 1) begin
                if (j >= end_pos_reg && j < adj_new_pos) begin
                    win_reg[8*j +: 8] <= 8'd0;
                end
            end
        end
    end else if (win_we) begin
        for (j = 0; j < WIN_WORDS; j = j + 1) begin
            for (wb = 0; wb < 8; wb = wb + 1) begin
                if (mu_pkt_word == j[WORD_W-1:0] && mu_line_be[wb]) begin
                    win_reg[(8*j+wb)*8 +: 8] <= mu_line_data[8*wb +: 8];
                end
                if (mu_pkt_word1 == j[WORD_W-1:0] && mu_line_be[8+wb]) begin
                    win_reg[(8*j+wb)*8 +: 8] <= mu_line_data[64+8*wb +: 8];
                end
            end
        end
    end
end

// stack: two byte-enable RAM banks read every cycle, and the written-word bits
integer sb;
always @(posedge clk) begin
    if (state_reg == STATE_IDLE && (start || retry)) begin
        stk_init_reg <= 64'd0;
    end else if (stk_we) begin
        // a decoder per bit, not two indexed writes (yosys chains those through all 64 bits)
        for (sb = 0; sb < 64; sb = sb + 1) begin
            if ((|stk_even_be0 && stk_even_word == sb[5:0]) || (|stk_odd_be0 && stk_odd_word == sb[5:0])) begin
                stk_init_reg[sb] <= 1'b1;
            end
        end
    end
end

genvar n;
generate
    for (n = 0; n < 8; n = n + 1) begin : stk_lane
        always @(posedge clk) begin
            if (stk_we && stk_even_be[n]) begin
                stk_even_mem[stk_even_idx][8*n +: 8] <= stk_even_wdata[8*n +: 8];
            end
            if (stk_we && stk_odd_be[n]) begin
                stk_odd_mem[stk_odd_idx][8*n +: 8] <= stk_odd_wdata[8*n +: 8];
            end
        end
    end
endgenerate

always @(posedge clk) begin
    stk_even_q <= stk_even_mem[stk_even_idx];
    stk_odd_q <= stk_odd_mem[stk_odd_idx];
end

endmodule

`resetall
