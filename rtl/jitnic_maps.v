`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC map memory: map RAM, descriptor table, hash/LPM/array lookup unit, control-bus command engine and executor port.

`include "jitnic_abi.vh"

/*
 * The golden model is jit/nic/mapmem.py (layout, hash function, errnos, iteration order); this
 * block implements it word for word. One engine serves two ports, one operation at a time:
 *
 *  - register port (the control bus's map region, docs/abi.md): descriptor, key and value staging,
 *    REG_MAP_CMD starts INSTALL / LOOKUP / UPDATE / DELETE / NEXT_KEY / FIRST_KEY; STATUS, ERRNO.
 *    reg_rdata is valid the cycle after reg_rd (like a synchronous RAM).
 *  - executor port: requests (ex_req_valid/ex_req_ready) LOOKUP (map, key) -> found + byte address
 *    of the NIC's value slot; READ (byte address) -> the 64-bit word; WRITE (address, data, byte
 *    enables) and ADD32/ADD64 (atomic add) for a transaction's buffered writes, applied back to
 *    back at commit; INSERT (hash map, key: found or inserted with zeroed value slots -> the NIC
 *    slot's byte address) and DELETE (hash map, key) for its buffered map_update_elem /
 *    map_delete_elem at commit (the executor decided their success at the call: LOOKUP answers
 *    found, and in ex_resp_data[0] whether an insert would find room). One ex_resp_valid pulse
 *    answers each request.
 *
 * LPM tries (jit/nic/mapmem.py "LPM tries") reuse the hash table: entries are hashed and compared
 * by their identity (prefixlen, data masked to it), and after the value pool come a bitmap of the
 * prefix lengths in use and a counter per length. A lookup loads the bitmap (S_LPM_BM) and probes
 * the lengths q <= min(prefixlen, P) whose bit is set, longest first (S_LPM_NEXT picks the next
 * one); the first hit is the answer. An insert or delete updates the length's counter and bit
 * (S_LPM_CNT). The executor only looks LPM tries up.
 *
 * Memory model rule 2 (docs/memory_model.md): a bus command does not start while ex_txn_open is
 * high (an executor transaction holds the maps from its first access to its commit); a waiting
 * command starts before the first request of a new transaction (ex_req_ready stays low for it),
 * so under back-to-back traffic a command waits one transaction at most, never for ever. A
 * command latches ex_turn (the packet engine's
 * count of frames whose map turn is over) when it starts, readable as MAP_TURN: the command's
 * place in the order of frames, which a bench replays (tb/e2e/test_concurrent.py). Every loop
 * is bounded (probes and scans by the bucket count, copies by the value size), so the engine
 * always returns to idle.
 */
module jitnic_maps #(
    // map memory bytes: 64-bit words, power of two, >= 64
    parameter MAP_MEM_BYTES = `JITNIC_MAP_MEM_BYTES,
    // map descriptors (map ids 0..MAX_MAPS-1), 1..256
    parameter MAX_MAPS = `JITNIC_MAP_MAX_MAPS,
    // longest hash key in bytes: multiple of 8, 8..248
    parameter MAX_KEY_BYTES = `JITNIC_MAP_MAX_KEY_BYTES,
    // longest value in bytes: multiple of 8, 8..32768 (the value staging holds two slots)
    parameter MAX_VALUE_BYTES = `JITNIC_MAP_MAX_VALUE_BYTES,
    // derived, do not override
    parameter MEM_AW = $clog2(MAP_MEM_BYTES / 8),
    parameter KEY_WORDS = MAX_KEY_BYTES / 8,
    parameter KW_AW = KEY_WORDS > 1 ? $clog2(KEY_WORDS) : 1
) (
    input  wire                      clk,
    input  wire                      rst,

    // register port: offsets inside the map region (REG_MAP_* - REG_MAP_REGION)
    input  wire                      reg_wr,
    input  wire [11:0]               reg_waddr,
    input  wire [31:0]               reg_wdata,
    input  wire [3:0]                reg_wstrb,
    input  wire                      reg_rd,
    input  wire [11:0]               reg_raddr,
    output wire [31:0]               reg_rdata,
    output wire                      busy,

    // executor port
    input  wire                      ex_txn_open,
    input  wire [31:0]               ex_turn,     // frames retired so far (MAP_TURN at a start)
    input  wire                      ex_req_valid,
    output wire                      ex_req_ready,
    input  wire [2:0]                ex_req_op,
    input  wire [7:0]                ex_req_map,
    input  wire [MAX_KEY_BYTES*8-1:0] ex_req_key,
    input  wire [31:0]               ex_req_addr,
    input  wire [63:0]               ex_req_data,
    input  wire [7:0]                ex_req_be,
    output wire                      ex_resp_valid,
    output wire                      ex_resp_ok,
    output wire [31:0]               ex_resp_addr,
    output wire [63:0]               ex_resp_data
);

localparam MEM_WORDS = MAP_MEM_BYTES / 8;
localparam VST_WORDS = 2 * MAX_VALUE_BYTES / 8;
localparam VST_AW = $clog2(VST_WORDS);
localparam MAP_W = MAX_MAPS > 1 ? $clog2(MAX_MAPS) : 1;
localparam [31:0] MEM_WORDS32 = MEM_WORDS;
localparam [31:0] MAXK32 = MAX_KEY_BYTES;
localparam [31:0] MAXV32 = MAX_VALUE_BYTES;
localparam [31:0] MAXM32 = MAX_MAPS;
localparam [31:0] MEM_AW32 = MEM_AW;
// LPM: longest prefix P = 8 * data bytes, lengths 0..P in a bitmap of LPM_BMW words
localparam LPM_BITS = 8 * `JITNIC_MAP_LPM_MAX_DATA_BYTES + 1;
localparam LPM_BMW = (LPM_BITS + 63) / 64;
localparam [31:0] LPM_MAXK32 = 4 + `JITNIC_MAP_LPM_MAX_DATA_BYTES;
// register offsets inside the map region
localparam [15:0] O_CMD = `REG_MAP_CMD - `REG_MAP_REGION;
localparam [15:0] O_STATUS = `REG_MAP_STATUS - `REG_MAP_REGION;
localparam [15:0] O_ERRNO = `REG_MAP_ERRNO - `REG_MAP_REGION;
localparam [15:0] O_MEM_BYTES = `REG_MAP_CFG_MEM_BYTES - `REG_MAP_REGION;
localparam [15:0] O_LIMITS = `REG_MAP_CFG_LIMITS - `REG_MAP_REGION;
localparam [15:0] O_CYCLES = `REG_MAP_CYCLES - `REG_MAP_REGION;
localparam [15:0] O_TURN = `REG_MAP_TURN - `REG_MAP_REGION;

initial begin
    if (MAP_MEM_BYTES < 64 || (MAP_MEM_BYTES & (MAP_MEM_BYTES - 1)) != 0) begin
        $display("Error: MAP_MEM_BYTES must be a power of two >= 64, got %0d (instance %m)", MAP_MEM_BYTES);
        $finish;
    end
    if (MAX_KEY_BYTES % 8 != 0 || MAX_KEY_BYTES < 8 || MAX_KEY_BYTES > 248) begin
        $display("Error: MAX_KEY_BYTES must be a multiple of 8 in 8..248, got %0d (instance %m)", MAX_KEY_BYTES);
        $finish;
    end
    if (MAX_VALUE_BYTES % 8 != 0 || MAX_VALUE_BYTES < 8 || MAX_VALUE_BYTES > 32768) begin
        $display("Error: MAX_VALUE_BYTES must be a multiple of 8 in 8..32768, got %0d (instance %m)", MAX_VALUE_BYTES);
        $finish;
    end
    if (MAX_MAPS < 1 || MAX_MAPS > 256) begin
        $display("Error: MAX_MAPS must be 1..256, got %0d (instance %m)", MAX_MAPS);
        $finish;
    end
end

// bytes of key word w that lie inside a key of `size` bytes
function [63:0] key_mask(input [31:0] w, input [7:0] size);
    integer j;
    begin
        for (j = 0; j < 8; j = j + 1) begin
            key_mask[8*j +: 8] = (w * 8 + j < {24'd0, size}) ? 8'hFF : 8'h00;
        end
    end
endfunction

// LPM: the bytes of key word w a prefix of q bits keeps (jit/nic/mapmem.py lpm_data_mask): the
// prefixlen field (bytes 0..3) whole, then the first q data bits in big-endian bit order
function [63:0] lpm_mask(input [31:0] w, input [7:0] q);
    integer j;
    reg [31:0] g;
    reg [31:0] ahead;
    begin
        for (j = 0; j < 8; j = j + 1) begin
            g = w * 8 + j;
            ahead = 8 * (g - 32'd4);           // data bits ahead of this byte
            if (g < 32'd4 || {24'd0, q} >= ahead + 32'd8) begin
                lpm_mask[8*j +: 8] = 8'hFF;
            end else if ({24'd0, q} <= ahead) begin
                lpm_mask[8*j +: 8] = 8'h00;
            end else begin
                lpm_mask[8*j +: 8] = ~(8'hFF >> ({24'd0, q} - ahead));
            end
        end
    end
endfunction

function [31:0] words_of(input [31:0] nbytes);
    words_of = (nbytes + 32'd7) >> 3;
endfunction

// ---- descriptor table and hash state --------------------------------------------------------
reg         d_valid [0:MAX_MAPS-1];
reg [3:0]   d_type [0:MAX_MAPS-1];
reg         d_rdonly [0:MAX_MAPS-1];
reg [4:0]   d_log2 [0:MAX_MAPS-1];
reg [7:0]   d_ksize [0:MAX_MAPS-1];
reg [15:0]  d_vsize [0:MAX_MAPS-1];
reg [31:0]  d_max [0:MAX_MAPS-1];
reg [31:0]  d_base [0:MAX_MAPS-1];
reg [31:0]  h_count [0:MAX_MAPS-1];
reg [31:0]  h_fresh [0:MAX_MAPS-1];
reg [31:0]  h_free [0:MAX_MAPS-1];

// ---- staging: descriptor words, key words (registers), value words (RAM) ----------------------
reg [31:0]  desc_reg [0:3];
reg [63:0]  kst [0:KEY_WORDS-1];

reg                 vst_wr_en;
reg [7:0]           vst_wr_be;
reg [VST_AW-1:0]    vst_wr_addr;
reg [63:0]          vst_wr_data;
reg                 eng_vst_rd_en;      // the engine's reads (registered)
reg [VST_AW-1:0]    eng_vst_rd_addr;
wire                bus_vst_rd;         // the bus's reads: data the cycle after reg_rd
wire                vst_rd_en = eng_vst_rd_en || bus_vst_rd;
wire [VST_AW-1:0]   vst_rd_addr = eng_vst_rd_en ? eng_vst_rd_addr : reg_raddr[VST_AW+2:3];
wire [63:0]         vst_rd_data;

jitnic_ram #(.DATA_W(64), .ADDR_W(VST_AW)) u_vstage (
    .clk(clk),
    .wr_en(vst_wr_en), .wr_be(vst_wr_be), .wr_addr(vst_wr_addr), .wr_data(vst_wr_data),
    .rd_en(vst_rd_en), .rd_addr(vst_rd_addr), .rd_data(vst_rd_data)
);

// ---- map RAM ------------------------------------------------------------------------------------
reg                 mem_wr_en;
reg [7:0]           mem_wr_be;
reg [31:0]          mem_wr_addr;
reg [63:0]          mem_wr_data;
reg                 mem_rd_en;
reg [31:0]          mem_rd_addr;
wire [63:0]         mem_rd_data;

jitnic_ram #(.DATA_W(64), .ADDR_W(MEM_AW)) u_mem (
    .clk(clk),
    .wr_en(mem_wr_en), .wr_be(mem_wr_be), .wr_addr(mem_wr_addr[MEM_AW-1:0]), .wr_data(mem_wr_data),
    .rd_en(mem_rd_en), .rd_addr(mem_rd_addr[MEM_AW-1:0]), .rd_data(mem_rd_data)
);

// ---- engine states ------------------------------------------------------------------------------
localparam [4:0]
    S_IDLE     = 5'd0,
    S_START    = 5'd1,   // command: map and descriptor checks
    S_CLEAR    = 5'd2,   // install: zero the map's words
    S_HASH     = 5'd3,   // hash the key, one word per cycle
    S_PROBE_W0 = 5'd4,   // bucket word 0 arrives
    S_PROBE_K  = 5'd5,   // bucket key word arrives
    S_AHDR     = 5'd6,   // array header word arrives (devmap, prog_array)
    S_FOUND    = 5'd7,   // find finished: dispatch by operation
    S_COPY_OUT = 5'd8,   // value slots -> value staging
    S_POP      = 5'd9,   // free-list head's link word arrives
    S_BUCKET   = 5'd10,  // write a new bucket: word 0 then key words
    S_COPY_IN  = 5'd11,  // value staging -> value slots
    S_SH_W0    = 5'd12,  // delete: word 0 of the bucket after the hole arrives
    S_SH_COPY  = 5'd13,  // delete: move a bucket into the hole
    S_SCAN     = 5'd14,  // next key: bucket word 0 arrives
    S_KEY_OUT  = 5'd15,  // next key: key words -> key staging
    S_EX_RMW   = 5'd16,  // executor atomic add: the old word arrives
    S_EX_READ  = 5'd17,  // executor read: the word arrives
    S_DONE     = 5'd18,
    S_LPM_INIT = 5'd19,  // LPM: the key's prefixlen decides (lookup: load the bitmap; else q)
    S_LPM_BM   = 5'd20,  // LPM lookup: bitmap words -> bm_reg
    S_LPM_NEXT = 5'd21,  // LPM lookup: the next (shorter) length in use, or not found
    S_LPM_CNT  = 5'd22;  // LPM insert/delete: the length's counter and bitmap bit

reg [4:0]   state_reg;

// the operation in progress
reg         src_ex_reg;        // 1: executor request, 0: bus command
reg [3:0]   op_reg;            // MapCmd, or (executor) MAP_CMD_LOOKUP
reg [2:0]   exop_reg;
reg [1:0]   flags_reg;
reg         slot_reg;
reg         all_reg;
reg [MAP_W-1:0] map_reg;
reg [MAX_KEY_BYTES*8-1:0] exkey_reg;
reg [31:0]  exaddr_reg;
reg [63:0]  exdata_reg;

// the map's descriptor, latched at start
reg [3:0]   t_reg;
reg [7:0]   ksize_reg;
reg [31:0]  max_reg;
reg [31:0]  base_reg;
reg [31:0]  kw_reg;
reg [31:0]  ew_reg;
reg [31:0]  slots_reg;
reg [31:0]  hdr_reg;
reg [31:0]  mask_reg;          // buckets - 1
reg [31:0]  bw_reg;            // words per bucket
reg [31:0]  pool_reg;          // first word of the value pool
reg         rdonly_reg;

// find and loop state
reg [31:0]  crc_reg;
reg [31:0]  h_reg;
reg [31:0]  w_reg;             // word counter
reg [31:0]  n_reg;             // loop bound / probes
reg [31:0]  b_reg;             // bucket index
reg [31:0]  ba_reg;            // bucket word address
reg [63:0]  w0_reg;
reg         found_reg;
reg         empty_ok_reg;      // an empty bucket was found (b_reg/ba_reg point at it)
reg [31:0]  va_reg;            // word address of the element's value slots
reg [31:0]  k_reg;             // pool index
reg         new_reg;           // update inserted a new element
reg [31:0]  hole_reg, hole_a_reg, j_reg, ja_reg;
// LPM
reg [7:0]   q_reg;             // the prefix length probed (update/delete/next key: the key's)
reg [7:0]   lim_reg;           // lookup: the longest length it may match, min(prefixlen, P)
reg         lpm_mode_reg;      // a lookup's longest-prefix search is on
reg [LPM_BMW*64-1:0] bm_reg;   // lookup: lengths in use not yet probed
reg [2:0]   lc_reg;            // S_LPM_CNT step
reg         lc_zero_reg;       // the length's counter reached 0

// command interface state
reg         cmd_pend_reg;
reg [31:0]  cmd_reg;
reg         done_reg;
reg         overrun_reg;
reg [7:0]   errno_reg;
reg [31:0]  cycles_reg;
reg [31:0]  cyc_cnt_reg;
reg [31:0]  turn_reg;          // ex_turn when the last command started

reg         resp_valid_reg;
reg         resp_ok_reg;
reg [31:0]  resp_addr_reg;
reg [63:0]  resp_data_reg;

wire running = state_reg != S_IDLE;
// a pending bus command starts now, ahead of any executor request (none can be inside an open
// transaction: ex_txn_open is low)
wire cmd_start = state_reg == S_IDLE && cmd_pend_reg && !ex_txn_open;
wire cmd_busy = cmd_pend_reg || (running && !src_ex_reg);
assign busy = cmd_busy;

// the current key's word w, zero past the key's size
function [63:0] key_word(input [31:0] w);
    reg [63:0] raw;
    begin
        raw = src_ex_reg ? exkey_reg[64*w +: 64] : kst[w[KW_AW-1:0]];
        key_word = raw & key_mask(w, ksize_reg);
    end
endfunction

// (spelled out, not through key_word: a continuous assignment through a function would only
// follow the function's arguments in Icarus). LPM: the identity at length q_reg (prefixlen field
// q_reg, data masked to q_reg bits), which is what the table hashes and compares.
wire is_lpm = t_reg == `MAP_TYPE_LPM_TRIE;
wire [63:0] kw_raw = src_ex_reg ? exkey_reg[64*w_reg +: 64] : kst[w_reg[KW_AW-1:0]];
wire [63:0] lpm_m = lpm_mask(w_reg, q_reg);
wire [63:0] kw_cur = is_lpm ? ((w_reg == 32'd0 ? {kw_raw[63:32], 24'd0, q_reg} : kw_raw)
                               & lpm_m & key_mask(w_reg, ksize_reg))
                            : kw_raw & key_mask(w_reg, ksize_reg);
// a stored key word as the probe compares it (LPM: masked like the identity)
wire [63:0] cmp_m = is_lpm ? lpm_m : 64'hFFFF_FFFF_FFFF_FFFF;
// the hash function (jit/nic/mapmem.py key_hash): one CRC-32C step per 64-bit key word, its XOR
// network generated from Python into rtl/jitnic_abi.vh (MAP_CRC_STEP)
wire [31:0] crc_next = `MAP_CRC_STEP(crc_reg, kw_cur);
wire [63:0] key0_cur = (src_ex_reg ? exkey_reg[63:0] : kst[0]) & key_mask(32'd0, ksize_reg);
wire [31:0] index_cur = key0_cur[31:0];

// descriptor staging decoded (INSTALL checks, jit/nic/mapmem.py check_desc)
wire [3:0]  ds_type = desc_reg[0][`MAP_DESC0_TYPE_LSB +: `MAP_DESC0_TYPE_W];
wire        ds_rdonly = desc_reg[0][`MAP_DESC0_RDONLY_LSB];
wire [4:0]  ds_log2 = desc_reg[0][`MAP_DESC0_LOG2_BUCKETS_LSB +: `MAP_DESC0_LOG2_BUCKETS_W];
wire [7:0]  ds_ksize = desc_reg[0][`MAP_DESC0_KEY_SIZE_LSB +: `MAP_DESC0_KEY_SIZE_W];
wire [15:0] ds_vsize = desc_reg[1][`MAP_DESC1_VALUE_SIZE_LSB +: `MAP_DESC1_VALUE_SIZE_W];
wire [31:0] ds_max = desc_reg[2];
wire [31:0] ds_base = desc_reg[3];
wire        ds_lpm = ds_type == `MAP_TYPE_LPM_TRIE;
wire        ds_hash = ds_type == `MAP_TYPE_HASH || ds_type == `MAP_TYPE_PERCPU_HASH || ds_lpm;
// LPM: bitmap words and a counter per prefix length 0..P after the pool
wire [31:0] ds_plen = 32'd8 * ({24'd0, ds_ksize} - 32'd4);
wire [31:0] ds_lpm_words = ds_lpm ? ((ds_plen + 32'd64) >> 6) + ds_plen + 32'd1 : 32'd0;
wire        ds_percpu = ds_type == `MAP_TYPE_PERCPU_ARRAY || ds_type == `MAP_TYPE_PERCPU_HASH;
wire [31:0] ds_ew = words_of({16'd0, ds_vsize});
wire [31:0] ds_slots = ds_percpu ? 32'd2 : 32'd1;
wire [31:0] ds_hdr = (ds_type == `MAP_TYPE_DEVMAP || ds_type == `MAP_TYPE_PROG_ARRAY) ? 32'd1 : 32'd0;
wire [31:0] ds_bw = 32'd1 + words_of({24'd0, ds_ksize});
// sizes are computed only when max_entries and the bucket count are at most the memory's words,
// so the 32-bit products cannot overflow (larger maps cannot fit anyway)
wire        ds_small = ds_max <= MEM_WORDS32 && {27'd0, ds_log2} <= MEM_AW32;
wire [31:0] ds_nb = 32'd1 << ds_log2;
wire [31:0] ds_size = ds_hash ? ds_nb * ds_bw + ds_max * ds_slots * ds_ew + ds_lpm_words
                              : ds_max * (ds_hdr + ds_slots * ds_ew);
wire [32:0] ds_end = {1'b0, ds_base} + {1'b0, ds_size};
wire        ds_ok = ds_type <= `MAP_TYPE_LPM_TRIE
    && (!ds_lpm || ({24'd0, ds_ksize} >= 32'd5 && {24'd0, ds_ksize} <= LPM_MAXK32))
    && (ds_hash ? ({24'd0, ds_ksize} >= 32'd1 && {24'd0, ds_ksize} <= MAXK32
                   && {1'b0, ds_nb} >= {ds_max, 1'b0})
                : ds_ksize == 8'd4)
    && {16'd0, ds_vsize} >= 32'd1 && {16'd0, ds_vsize} <= MAXV32
    && ds_max >= 32'd1
    && (!ds_rdonly || ds_type == `MAP_TYPE_ARRAY)
    && ds_small && ds_end <= {1'b0, MEM_WORDS32};

wire is_hash = t_reg == `MAP_TYPE_HASH || t_reg == `MAP_TYPE_PERCPU_HASH || is_lpm;
wire [31:0] vwords = slots_reg * ew_reg;
wire [31:0] w2 = w_reg - 32'd2;           // copies: the word whose read data is here
// LPM layout (descriptor latched): P, bitmap words, bitmap and counter addresses
wire [31:0] plen_max = 32'd8 * ({24'd0, ksize_reg} - 32'd4);
wire [31:0] bmw = (plen_max + 32'd64) >> 6;
wire [31:0] lpm_bm_a = pool_reg + max_reg * vwords;
wire [31:0] lpm_cnt_a = lpm_bm_a + bmw + {24'd0, q_reg};
// the longest length in use at most lim_reg not yet probed: a binary tree of (any, index) pairs,
// one level per index bit (a last-wins loop over the bits would be a LPM_BITS-long mux chain: the
// block's critical path, 15.5 ns in yosys sta)
localparam LPM_IW = $clog2(LPM_BITS);             // index bits of the tree
localparam LPM_P2 = 1 << LPM_IW;                  // leaves
reg [7:0]   lpm_hi;
reg         lpm_any;
reg [LPM_P2-1:0]        t_any;
reg [LPM_P2*8-1:0]      t_idx;
integer     li, lv;
always @* begin
    for (li = 0; li < LPM_P2; li = li + 1) begin
        t_any[li] = li < LPM_BITS && bm_reg[li] && li <= {24'd0, lim_reg};
        t_idx[8*li +: 8] = 8'd0;
    end
    for (lv = 0; lv < LPM_IW; lv = lv + 1) begin
        for (li = 0; li < (LPM_P2 >> (lv + 1)); li = li + 1) begin
            t_idx[8*li +: 8] = t_any[2*li+1] ? (t_idx[8*(2*li+1) +: 8] | (8'd1 << lv))
                                             : t_idx[8*(2*li) +: 8];
            t_any[li] = t_any[2*li+1] | t_any[2*li];
        end
    end
    lpm_any = t_any[0];
    lpm_hi = t_idx[7:0];
end
wire [31:0] cmd_map32 = {24'd0, cmd_reg[`MAP_CMD_MAP_LSB +: `MAP_CMD_MAP_W]};
wire [31:0] ex_map32 = {24'd0, ex_req_map};

// MAP_EX_DESC: the requested map's region in bytes (mapmem.MapDesc.size_words * 8) and fields
wire [MAP_W-1:0] xd = ex_req_map[MAP_W-1:0];
wire        xd_ok = ex_map32 < MAXM32 && d_valid[xd];
wire [3:0]  xd_type = d_type[xd];
wire        xd_lpm = xd_type == `MAP_TYPE_LPM_TRIE;
wire        xd_hash = xd_type == `MAP_TYPE_HASH || xd_type == `MAP_TYPE_PERCPU_HASH || xd_lpm;
wire [31:0] xd_plen = 32'd8 * ({24'd0, d_ksize[xd]} - 32'd4);
wire [31:0] xd_slots = xd_type == `MAP_TYPE_PERCPU_ARRAY || xd_type == `MAP_TYPE_PERCPU_HASH
                       ? 32'd2 : 32'd1;
wire [31:0] xd_hdr = xd_type == `MAP_TYPE_DEVMAP || xd_type == `MAP_TYPE_PROG_ARRAY ? 32'd1 : 32'd0;
wire [31:0] xd_ew = words_of({16'd0, d_vsize[xd]});
wire [31:0] xd_kw = words_of({24'd0, d_ksize[xd]});
wire [31:0] xd_words = xd_hash ? ((32'd1 << d_log2[xd]) * (32'd1 + xd_kw) + d_max[xd] * xd_slots * xd_ew
                                  + (xd_lpm ? ((xd_plen + 32'd64) >> 6) + xd_plen + 32'd1 : 32'd0))
                               : d_max[xd] * (xd_hdr + xd_slots * xd_ew);
wire [31:0] xd_bytes = xd_words << 3;
wire [63:0] ex_desc_word = {3'd0, d_rdonly[xd], xd_type, d_ksize[xd], d_vsize[xd], xd_bytes};

// ---- engine -------------------------------------------------------------------------------------
integer m;

always @(posedge clk) begin
    // defaults: one-cycle strobes
    mem_wr_en <= 1'b0;
    mem_rd_en <= 1'b0;
    vst_wr_en <= 1'b0;
    eng_vst_rd_en <= 1'b0;
    resp_valid_reg <= 1'b0;
    if (cmd_pend_reg || (running && !src_ex_reg)) begin
        cyc_cnt_reg <= cyc_cnt_reg + 32'd1;
    end

    // register writes (ignored while a command is pending or running: STATUS.OVERRUN)
    if (reg_wr) begin
        if (cmd_busy) begin
            overrun_reg <= 1'b1;
        end else if (reg_waddr == O_CMD[11:0]) begin
            cmd_reg <= reg_wdata;
            cmd_pend_reg <= 1'b1;
            done_reg <= 1'b0;
            overrun_reg <= 1'b0;
            cyc_cnt_reg <= 32'd1;
        end else if (reg_waddr[11:4] == 8'h02) begin
            desc_reg[reg_waddr[3:2]] <= reg_wdata;
        end else if (reg_waddr[11:8] == 4'h1 && {27'd0, reg_waddr[7:3]} < KEY_WORDS) begin
            for (m = 0; m < 4; m = m + 1) begin
                if (reg_wstrb[m]) begin
                    kst[reg_waddr[3 +: KW_AW]][32*reg_waddr[2] + 8*m +: 8] <= reg_wdata[8*m +: 8];
                end
            end
        end else if (reg_waddr[11] && {21'd0, reg_waddr[10:0]} < VST_WORDS * 8) begin
            vst_wr_en <= 1'b1;
            vst_wr_addr <= reg_waddr[VST_AW+2:3];
            vst_wr_be <= reg_waddr[2] ? {reg_wstrb, 4'b0000} : {4'b0000, reg_wstrb};
            vst_wr_data <= {reg_wdata, reg_wdata};
        end
    end

    case (state_reg)
    S_IDLE: begin
        if (ex_req_valid && !cmd_start) begin
            w_reg <= 32'd0;
            src_ex_reg <= 1'b1;
            exop_reg <= ex_req_op;
            exkey_reg <= ex_req_key;
            exaddr_reg <= ex_req_addr;
            exdata_reg <= ex_req_data;
            op_reg <= `MAP_CMD_LOOKUP;
            map_reg <= ex_req_map[MAP_W-1:0];
            if (ex_req_op == `MAP_EX_DESC) begin
                // the executor's view of a descriptor (mapmem.desc_word): region, sizes, type
                found_reg <= xd_ok;
                resp_addr_reg <= xd_ok ? d_base[xd] << 3 : 32'd0;
                resp_data_reg <= xd_ok ? ex_desc_word : 64'd0;
                state_reg <= S_DONE;
            end else if (ex_req_op == `MAP_EX_LOOKUP || ex_req_op == `MAP_EX_INSERT
                         || ex_req_op == `MAP_EX_DELETE) begin
                // INSERT / DELETE: the bus's helper-mode UPDATE (BPF_ANY, the NIC's slot) and DELETE
                op_reg <= ex_req_op == `MAP_EX_INSERT ? `MAP_CMD_UPDATE
                          : ex_req_op == `MAP_EX_DELETE ? `MAP_CMD_DELETE : `MAP_CMD_LOOKUP;
                flags_reg <= 2'd0;
                all_reg <= 1'b0;
                slot_reg <= `MAP_NIC_SLOT;
                new_reg <= 1'b0;
                if (ex_map32 >= MAXM32 || !d_valid[ex_req_map[MAP_W-1:0]]
                        || d_type[ex_req_map[MAP_W-1:0]] == `MAP_TYPE_PROG_ARRAY
                        || (ex_req_op != `MAP_EX_LOOKUP && d_type[ex_req_map[MAP_W-1:0]] != `MAP_TYPE_HASH
                            && d_type[ex_req_map[MAP_W-1:0]] != `MAP_TYPE_PERCPU_HASH)) begin
                    found_reg <= 1'b0;
                    resp_data_reg <= 64'd1;     // (room: only a hash map can be full)
                    state_reg <= S_DONE;
                end else begin
                    state_reg <= S_START;
                end
            end else if ({3'd0, ex_req_addr[31:3]} >= MEM_WORDS32) begin
                found_reg <= 1'b0;             // outside map memory: refused, nothing written
                state_reg <= S_DONE;
            end else begin
                found_reg <= 1'b1;
                case (ex_req_op)
                `MAP_EX_WRITE: begin
                    mem_wr_en <= 1'b1;
                    mem_wr_be <= ex_req_be;
                    mem_wr_addr <= {3'd0, ex_req_addr[31:3]};
                    mem_wr_data <= ex_req_data;
                    state_reg <= S_DONE;
                end
                `MAP_EX_ADD32, `MAP_EX_ADD64: begin
                    mem_rd_en <= 1'b1;
                    mem_rd_addr <= {3'd0, ex_req_addr[31:3]};
                    state_reg <= S_EX_RMW;
                end
                `MAP_EX_READ: begin
                    mem_rd_en <= 1'b1;
                    mem_rd_addr <= {3'd0, ex_req_addr[31:3]};
                    state_reg <= S_EX_READ;
                end
                default: begin
                    found_reg <= 1'b0;
                    state_reg <= S_DONE;
                end
                endcase
            end
        end else if (cmd_pend_reg && !ex_txn_open) begin
            cmd_pend_reg <= 1'b0;
            turn_reg <= ex_turn;
            src_ex_reg <= 1'b0;
            op_reg <= cmd_reg[`MAP_CMD_OP_LSB +: `MAP_CMD_OP_W];
            flags_reg <= cmd_reg[`MAP_CMD_FLAGS_LSB +: `MAP_CMD_FLAGS_W];
            slot_reg <= cmd_reg[`MAP_CMD_SLOT_LSB];
            all_reg <= cmd_reg[`MAP_CMD_ALL_LSB];
            map_reg <= cmd_reg[`MAP_CMD_MAP_LSB +: MAP_W];
            errno_reg <= 8'd0;
            if (cmd_map32 >= MAXM32) begin
                errno_reg <= cmd_reg[`MAP_CMD_OP_LSB +: `MAP_CMD_OP_W] == `MAP_CMD_INSTALL
                             ? `MAP_ERRNO_EINVAL : `MAP_ERRNO_EBADF;
                state_reg <= S_DONE;
            end else if (cmd_reg[`MAP_CMD_OP_LSB +: `MAP_CMD_OP_W] == `MAP_CMD_INSTALL) begin
                if (!ds_ok) begin
                    errno_reg <= `MAP_ERRNO_EINVAL;
                    state_reg <= S_DONE;
                end else begin
                    d_valid[cmd_reg[`MAP_CMD_MAP_LSB +: MAP_W]] <= 1'b0;
                    w_reg <= ds_base;
                    n_reg <= ds_end[31:0];
                    state_reg <= S_CLEAR;
                end
            end else if (!d_valid[cmd_reg[`MAP_CMD_MAP_LSB +: MAP_W]]
                         || cmd_reg[`MAP_CMD_OP_LSB +: `MAP_CMD_OP_W] < `MAP_CMD_LOOKUP
                         || cmd_reg[`MAP_CMD_OP_LSB +: `MAP_CMD_OP_W] > `MAP_CMD_FIRST_KEY) begin
                errno_reg <= d_valid[cmd_reg[`MAP_CMD_MAP_LSB +: MAP_W]] ? `MAP_ERRNO_EINVAL
                                                                          : `MAP_ERRNO_EBADF;
                state_reg <= S_DONE;
            end else begin
                state_reg <= S_START;
            end
        end
    end

    S_CLEAR: begin
        if (w_reg < n_reg) begin
            mem_wr_en <= 1'b1;
            mem_wr_be <= 8'hFF;
            mem_wr_addr <= w_reg;
            mem_wr_data <= 64'd0;
            w_reg <= w_reg + 32'd1;
        end else begin
            d_valid[map_reg] <= 1'b1;
            d_type[map_reg] <= ds_type;
            d_rdonly[map_reg] <= ds_rdonly;
            d_log2[map_reg] <= ds_log2;
            d_ksize[map_reg] <= ds_ksize;
            d_vsize[map_reg] <= ds_vsize;
            d_max[map_reg] <= ds_max;
            d_base[map_reg] <= ds_base;
            h_count[map_reg] <= 32'd0;
            h_fresh[map_reg] <= 32'd0;
            h_free[map_reg] <= `MAP_NIL;
            state_reg <= S_DONE;
        end
    end

    S_START: begin
        // latch the descriptor; start the find (hash: hash the key; array: bounds, header)
        t_reg <= d_type[map_reg];
        ksize_reg <= d_ksize[map_reg];
        max_reg <= d_max[map_reg];
        base_reg <= d_base[map_reg];
        rdonly_reg <= d_rdonly[map_reg];
        kw_reg <= words_of({24'd0, d_ksize[map_reg]});
        ew_reg <= words_of({16'd0, d_vsize[map_reg]});
        slots_reg <= (d_type[map_reg] == `MAP_TYPE_PERCPU_ARRAY
                      || d_type[map_reg] == `MAP_TYPE_PERCPU_HASH) ? 32'd2 : 32'd1;
        hdr_reg <= (d_type[map_reg] == `MAP_TYPE_DEVMAP
                    || d_type[map_reg] == `MAP_TYPE_PROG_ARRAY) ? 32'd1 : 32'd0;
        mask_reg <= (32'd1 << d_log2[map_reg]) - 32'd1;
        bw_reg <= 32'd1 + words_of({24'd0, d_ksize[map_reg]});
        pool_reg <= d_base[map_reg]
                    + (32'd1 << d_log2[map_reg]) * (32'd1 + words_of({24'd0, d_ksize[map_reg]}));
        crc_reg <= 32'hFFFF_FFFF;
        w_reg <= 32'd0;
        found_reg <= 1'b0;
        empty_ok_reg <= 1'b0;
        new_reg <= 1'b0;
        lpm_mode_reg <= 1'b0;
        q_reg <= 8'd0;
        if (d_type[map_reg] == `MAP_TYPE_LPM_TRIE) begin
            state_reg <= op_reg == `MAP_CMD_FIRST_KEY ? S_FOUND : S_LPM_INIT;
        end else if (d_type[map_reg] == `MAP_TYPE_HASH || d_type[map_reg] == `MAP_TYPE_PERCPU_HASH) begin
            state_reg <= op_reg == `MAP_CMD_FIRST_KEY ? S_FOUND : S_HASH;
        end else begin
            state_reg <= S_AHDR;
            n_reg <= 32'd0;        // S_AHDR's first cycle: bounds and (devmap) header read
        end
    end

    S_AHDR: begin
        // array find: cycle 0 checks the index and reads the header; cycle 1 sees it
        if (n_reg == 32'd0) begin
            va_reg <= base_reg + index_cur * (hdr_reg + vwords) + hdr_reg;
            if (index_cur >= max_reg || op_reg == `MAP_CMD_FIRST_KEY) begin
                state_reg <= S_FOUND;
            end else if (hdr_reg != 32'd0) begin
                mem_rd_en <= 1'b1;
                mem_rd_addr <= base_reg + index_cur * (hdr_reg + vwords);
                n_reg <= 32'd1;
            end else begin
                found_reg <= 1'b1;
                state_reg <= S_FOUND;
            end
        end else if (n_reg == 32'd1) begin
            n_reg <= 32'd2;        // read in flight
        end else begin
            found_reg <= mem_rd_data[0];
            state_reg <= S_FOUND;
        end
    end

    S_LPM_INIT: begin
        // the key's prefixlen (index_cur: key bytes 0..3) against P
        if (op_reg == `MAP_CMD_LOOKUP) begin
            lim_reg <= index_cur > plen_max ? plen_max[7:0] : index_cur[7:0];
            lpm_mode_reg <= 1'b1;
            bm_reg <= {(LPM_BMW*64){1'b0}};
            w_reg <= 32'd0;
            state_reg <= S_LPM_BM;
        end else if (index_cur > plen_max) begin
            if (op_reg == `MAP_CMD_NEXT_KEY) begin
                state_reg <= S_FOUND;              // no such key: the first key
            end else begin
                errno_reg <= op_reg == `MAP_CMD_UPDATE ? `MAP_ERRNO_EINVAL : `MAP_ERRNO_ENOENT;
                state_reg <= S_DONE;
            end
        end else begin
            q_reg <= index_cur[7:0];
            state_reg <= S_HASH;
        end
    end

    S_LPM_BM: begin
        // bitmap words -> bm_reg: read word w, the data of word w-2 arrives
        if (w_reg < bmw) begin
            mem_rd_en <= 1'b1;
            mem_rd_addr <= lpm_bm_a + w_reg;
        end
        if (w_reg >= 32'd2) begin
            for (m = 0; m < LPM_BMW; m = m + 1) begin
                if (w2 == m) begin
                    bm_reg[64*m +: 64] <= mem_rd_data;
                end
            end
        end
        w_reg <= w_reg + 32'd1;
        if (w_reg == bmw + 32'd1) begin
            state_reg <= S_LPM_NEXT;
        end
    end

    S_LPM_NEXT: begin
        // probe the longest length left, or give up (not found)
        if (!lpm_any) begin
            lpm_mode_reg <= 1'b0;
            found_reg <= 1'b0;
            state_reg <= S_FOUND;
        end else begin
            q_reg <= lpm_hi;
            bm_reg[lpm_hi] <= 1'b0;
            crc_reg <= 32'hFFFF_FFFF;
            w_reg <= 32'd0;
            empty_ok_reg <= 1'b0;
            state_reg <= S_HASH;
        end
    end

    S_LPM_CNT: begin
        // the counter of length q_reg += 1 (insert) or -= 1 (delete); its bitmap bit follows
        case (lc_reg)
        3'd0: begin
            mem_rd_en <= 1'b1;
            mem_rd_addr <= lpm_cnt_a;
            lc_reg <= 3'd1;
        end
        3'd1: lc_reg <= 3'd2;
        3'd2: begin
            mem_wr_en <= 1'b1;
            mem_wr_be <= 8'hFF;
            mem_wr_addr <= lpm_cnt_a;
            mem_wr_data <= new_reg ? mem_rd_data + 64'd1 : mem_rd_data - 64'd1;
            lc_zero_reg <= !new_reg && mem_rd_data == 64'd1;
            mem_rd_en <= 1'b1;
            mem_rd_addr <= lpm_bm_a + {29'd0, q_reg[7:6]};
            lc_reg <= 3'd3;
        end
        3'd3: lc_reg <= 3'd4;
        default: begin
            mem_wr_en <= 1'b1;
            mem_wr_be <= 8'hFF;
            mem_wr_addr <= lpm_bm_a + {29'd0, q_reg[7:6]};
            if (new_reg) begin
                mem_wr_data <= mem_rd_data | (64'd1 << q_reg[5:0]);
            end else if (lc_zero_reg) begin
                mem_wr_data <= mem_rd_data & ~(64'd1 << q_reg[5:0]);
            end else begin
                mem_wr_data <= mem_rd_data;
            end
            state_reg <= S_DONE;
        end
        endcase
    end

    S_HASH: begin
        crc_reg <= crc_next;
        if (w_reg + 32'd1 >= kw_reg) begin
            h_reg <= ~crc_next;
            b_reg <= ~crc_next & mask_reg;
            ba_reg <= base_reg + (~crc_next & mask_reg) * bw_reg;
            mem_rd_en <= 1'b1;
            mem_rd_addr <= base_reg + (~crc_next & mask_reg) * bw_reg;
            n_reg <= 32'd0;
            w_reg <= 32'hFFFF_FFFF;   // marks "read issued, data next cycle"
            state_reg <= S_PROBE_W0;
        end else begin
            w_reg <= w_reg + 32'd1;
        end
    end

    S_PROBE_W0: begin
        if (w_reg == 32'hFFFF_FFFF) begin
            w_reg <= 32'd0;            // data arrives next cycle
        end else begin
            w0_reg <= mem_rd_data;
            if (!mem_rd_data[`MAP_BUCKET_VALID_BIT]) begin
                empty_ok_reg <= 1'b1;  // not found; b_reg/ba_reg is the run's first empty bucket
                state_reg <= S_FOUND;
            end else if (mem_rd_data[`MAP_BUCKET_HASH_LSB +: `MAP_HASH_BITS]
                         == h_reg[`MAP_HASH_BITS-1:0]) begin
                mem_rd_en <= 1'b1;
                mem_rd_addr <= ba_reg + 32'd1;
                w_reg <= 32'd0;
                n_reg <= n_reg;
                state_reg <= S_PROBE_K;
                k_reg <= 32'hFFFF_FFFF;    // marks "key read issued, data next cycle"
            end else if (n_reg + 32'd1 > mask_reg) begin
                state_reg <= S_FOUND;      // every bucket probed (only a corrupted table)
            end else begin
                n_reg <= n_reg + 32'd1;
                b_reg <= (b_reg + 32'd1) & mask_reg;
                ba_reg <= b_reg == mask_reg ? base_reg : ba_reg + bw_reg;
                mem_rd_en <= 1'b1;
                mem_rd_addr <= b_reg == mask_reg ? base_reg : ba_reg + bw_reg;
                w_reg <= 32'hFFFF_FFFF;
            end
        end
    end

    S_PROBE_K: begin
        if (k_reg == 32'hFFFF_FFFF) begin
            k_reg <= 32'd0;
        end else if ((mem_rd_data & cmp_m) != kw_cur) begin
            if (n_reg + 32'd1 > mask_reg) begin
                state_reg <= S_FOUND;
            end else begin
                n_reg <= n_reg + 32'd1;
                b_reg <= (b_reg + 32'd1) & mask_reg;
                ba_reg <= b_reg == mask_reg ? base_reg : ba_reg + bw_reg;
                mem_rd_en <= 1'b1;
                mem_rd_addr <= b_reg == mask_reg ? base_reg : ba_reg + bw_reg;
                w_reg <= 32'hFFFF_FFFF;
                state_reg <= S_PROBE_W0;
            end
        end else if (w_reg + 32'd1 >= kw_reg) begin
            found_reg <= 1'b1;
            k_reg <= w0_reg[31:0];
            va_reg <= pool_reg + w0_reg[31:0] * vwords;
            state_reg <= S_FOUND;
        end else begin
            mem_rd_en <= 1'b1;
            mem_rd_addr <= ba_reg + w_reg + 32'd2;
            w_reg <= w_reg + 32'd1;
            k_reg <= 32'hFFFF_FFFF;
        end
    end

    S_FOUND: begin
        w_reg <= 32'd0;
        n_reg <= 32'd0;
        if (lpm_mode_reg && !found_reg) begin
            state_reg <= S_LPM_NEXT;               // LPM lookup: try the next shorter length
        end else if (src_ex_reg && op_reg == `MAP_CMD_LOOKUP) begin
            resp_addr_reg <= found_reg ? (va_reg + (slots_reg > 32'd1 ? ew_reg : 32'd0)) << 3 : 32'd0;
            resp_data_reg <= {63'd0, !is_hash || h_count[map_reg] < max_reg};   // room for an insert
            state_reg <= S_DONE;
        end else begin
            case (op_reg)
            `MAP_CMD_LOOKUP: begin
                if (!found_reg) begin
                    errno_reg <= `MAP_ERRNO_ENOENT;
                    state_reg <= S_DONE;
                end else begin
                    state_reg <= S_COPY_OUT;
                end
            end
            `MAP_CMD_UPDATE: begin
                if (flags_reg > 2'd2) begin
                    errno_reg <= `MAP_ERRNO_EINVAL;
                    state_reg <= S_DONE;
                end else if (!is_hash) begin
                    if (!all_reg && hdr_reg != 32'd0) begin
                        errno_reg <= `MAP_ERRNO_EOPNOTSUPP;
                        state_reg <= S_DONE;
                    end else if (index_cur >= max_reg) begin
                        errno_reg <= `MAP_ERRNO_E2BIG;
                        state_reg <= S_DONE;
                    end else if (flags_reg == 2'd1) begin
                        errno_reg <= `MAP_ERRNO_EEXIST;
                        state_reg <= S_DONE;
                    end else if (!all_reg && rdonly_reg) begin
                        errno_reg <= `MAP_ERRNO_EPERM;
                        state_reg <= S_DONE;
                    end else begin
                        if (hdr_reg != 32'd0) begin
                            mem_wr_en <= 1'b1;
                            mem_wr_be <= 8'hFF;
                            mem_wr_addr <= va_reg - 32'd1;
                            mem_wr_data <= 64'd1;
                        end
                        state_reg <= S_COPY_IN;
                    end
                end else if (found_reg && flags_reg == 2'd1) begin
                    errno_reg <= `MAP_ERRNO_EEXIST;
                    state_reg <= S_DONE;
                end else if (!found_reg && flags_reg == 2'd2) begin
                    errno_reg <= `MAP_ERRNO_ENOENT;
                    state_reg <= S_DONE;
                end else if (found_reg && is_lpm) begin
                    w_reg <= 32'd1;                // LPM: the key as given replaces the stored one
                    state_reg <= S_BUCKET;
                end else if (found_reg) begin
                    state_reg <= src_ex_reg ? S_DONE : S_COPY_IN;   // INSERT: the executor writes it
                end else if (h_count[map_reg] >= max_reg || !empty_ok_reg) begin
                    errno_reg <= is_lpm ? `MAP_ERRNO_ENOSPC : `MAP_ERRNO_E2BIG;
                    state_reg <= S_DONE;
                end else begin
                    new_reg <= 1'b1;
                    h_count[map_reg] <= h_count[map_reg] + 32'd1;
                    if (h_fresh[map_reg] < max_reg) begin
                        k_reg <= h_fresh[map_reg];
                        va_reg <= pool_reg + h_fresh[map_reg] * vwords;
                        h_fresh[map_reg] <= h_fresh[map_reg] + 32'd1;
                        state_reg <= S_BUCKET;
                    end else begin
                        k_reg <= h_free[map_reg];
                        va_reg <= pool_reg + h_free[map_reg] * vwords;
                        mem_rd_en <= 1'b1;
                        mem_rd_addr <= pool_reg + h_free[map_reg] * vwords;
                        n_reg <= 32'd0;
                        state_reg <= S_POP;
                    end
                end
            end
            `MAP_CMD_DELETE: begin
                if (!is_hash) begin
                    if (hdr_reg == 32'd0) begin
                        errno_reg <= `MAP_ERRNO_EINVAL;
                    end else if (!all_reg) begin
                        errno_reg <= `MAP_ERRNO_EOPNOTSUPP;
                    end else if (index_cur >= max_reg) begin
                        errno_reg <= t_reg == `MAP_TYPE_DEVMAP ? `MAP_ERRNO_EINVAL : `MAP_ERRNO_E2BIG;
                    end else if (t_reg == `MAP_TYPE_PROG_ARRAY && !found_reg) begin
                        errno_reg <= `MAP_ERRNO_ENOENT;
                    end else begin
                        mem_wr_en <= 1'b1;
                        mem_wr_be <= 8'hFF;
                        mem_wr_addr <= va_reg - 32'd1;
                        mem_wr_data <= 64'd0;
                    end
                    state_reg <= S_DONE;
                end else if (!found_reg) begin
                    errno_reg <= `MAP_ERRNO_ENOENT;
                    state_reg <= S_DONE;
                end else begin
                    // free the element (LIFO, linked through its word 0), then close the hole
                    mem_wr_en <= 1'b1;
                    mem_wr_be <= 8'hFF;
                    mem_wr_addr <= va_reg;
                    mem_wr_data <= {32'd0, h_free[map_reg]};
                    h_free[map_reg] <= w0_reg[31:0];
                    h_count[map_reg] <= h_count[map_reg] - 32'd1;
                    hole_reg <= b_reg;
                    hole_a_reg <= ba_reg;
                    j_reg <= (b_reg + 32'd1) & mask_reg;
                    ja_reg <= b_reg == mask_reg ? base_reg : ba_reg + bw_reg;
                    mem_rd_en <= 1'b1;
                    mem_rd_addr <= b_reg == mask_reg ? base_reg : ba_reg + bw_reg;
                    n_reg <= 32'd0;
                    w_reg <= 32'hFFFF_FFFF;
                    state_reg <= S_SH_W0;
                end
            end
            default: begin     // NEXT_KEY, FIRST_KEY
                if (!is_hash) begin
                    if (op_reg == `MAP_CMD_FIRST_KEY || index_cur >= max_reg) begin
                        kst[0] <= 64'd0;
                    end else if (index_cur == max_reg - 32'd1) begin
                        errno_reg <= `MAP_ERRNO_ENOENT;
                    end else begin
                        kst[0] <= {32'd0, index_cur + 32'd1};
                    end
                    state_reg <= S_DONE;
                end else begin
                    b_reg <= (op_reg == `MAP_CMD_NEXT_KEY && found_reg) ? b_reg + 32'd1 : 32'd0;
                    ba_reg <= (op_reg == `MAP_CMD_NEXT_KEY && found_reg) ? ba_reg + bw_reg : base_reg;
                    w_reg <= 32'hFFFF_FFFF;    // "issue the read of bucket b_reg next"
                    state_reg <= S_SCAN;
                end
            end
            endcase
        end
    end

    S_COPY_OUT: begin
        // value slots -> value staging: read word w, write word w-2 (reads take two cycles)
        if (w_reg < vwords) begin
            mem_rd_en <= 1'b1;
            mem_rd_addr <= va_reg + w_reg;
        end
        if (w_reg >= 32'd2) begin
            vst_wr_en <= 1'b1;
            vst_wr_be <= 8'hFF;
            vst_wr_addr <= w2[VST_AW-1:0];
            vst_wr_data <= mem_rd_data;
        end
        w_reg <= w_reg + 32'd1;
        if (w_reg == vwords + 32'd1) begin
            state_reg <= S_DONE;
        end
    end

    S_POP: begin
        if (n_reg == 32'd0) begin
            n_reg <= 32'd1;
        end else begin
            h_free[map_reg] <= mem_rd_data[31:0];
            state_reg <= S_BUCKET;
        end
    end

    S_BUCKET: begin
        // word 0: valid, hash tag, pool index; then the key words
        mem_wr_en <= 1'b1;
        mem_wr_be <= 8'hFF;
        mem_wr_addr <= ba_reg + w_reg;
        if (w_reg == 32'd0) begin
            mem_wr_data <= {1'b1, h_reg[`MAP_HASH_BITS-1:0], k_reg};
        end else begin
            mem_wr_data <= key_word(w_reg - 32'd1);
        end
        if (w_reg == kw_reg) begin
            w_reg <= 32'd0;
            state_reg <= S_COPY_IN;
        end else begin
            w_reg <= w_reg + 32'd1;
        end
    end

    S_COPY_IN: begin
        // staging -> value slots: word w = slot w/ew, word w%ew. User mode writes every slot from
        // its staging slot; helper mode writes the chosen slot from staging slot 0 and zeroes the
        // other slot of a new element. Read staging for w, write word w-1.
        if (w_reg < vwords) begin
            eng_vst_rd_en <= 1'b1;
            eng_vst_rd_addr <= (all_reg || w_reg < ew_reg) ? w_reg[VST_AW-1:0]
                                                         : w_reg[VST_AW-1:0] - ew_reg[VST_AW-1:0];
        end
        // word w-2's data is here: its slot is w2 >= ew
        if (w_reg >= 32'd2 && (all_reg || slots_reg == 32'd1 || new_reg
                               || (w2 >= ew_reg) == slot_reg)) begin
            mem_wr_en <= 1'b1;
            mem_wr_be <= 8'hFF;
            mem_wr_addr <= va_reg + w2;
            mem_wr_data <= (src_ex_reg || (!all_reg && slots_reg != 32'd1 && (w2 >= ew_reg) != slot_reg))
                           ? 64'd0 : vst_rd_data;            // INSERT: a new element starts zeroed
        end
        w_reg <= w_reg + 32'd1;
        if (w_reg == vwords + 32'd1) begin
            lc_reg <= 3'd0;
            state_reg <= (is_lpm && new_reg) ? S_LPM_CNT : S_DONE;
        end
    end

    S_SH_W0: begin
        if (w_reg == 32'hFFFF_FFFF) begin
            w_reg <= 32'd0;
        end else if (!mem_rd_data[`MAP_BUCKET_VALID_BIT] || n_reg > mask_reg) begin
            mem_wr_en <= 1'b1;
            mem_wr_be <= 8'hFF;
            mem_wr_addr <= hole_a_reg;
            mem_wr_data <= 64'd0;
            lc_reg <= 3'd0;
            state_reg <= is_lpm ? S_LPM_CNT : S_DONE;
        end else if (((j_reg - {1'b0, mem_rd_data[62:32]}) & mask_reg)
                     >= ((j_reg - hole_reg) & mask_reg)) begin
            // movable: copy bucket j into the hole, then j becomes the hole
            w_reg <= 32'd0;
            state_reg <= S_SH_COPY;
        end else begin
            n_reg <= n_reg + 32'd1;
            j_reg <= (j_reg + 32'd1) & mask_reg;
            ja_reg <= j_reg == mask_reg ? base_reg : ja_reg + bw_reg;
            mem_rd_en <= 1'b1;
            mem_rd_addr <= j_reg == mask_reg ? base_reg : ja_reg + bw_reg;
            w_reg <= 32'hFFFF_FFFF;
        end
    end

    S_SH_COPY: begin
        if (w_reg < bw_reg) begin
            mem_rd_en <= 1'b1;
            mem_rd_addr <= ja_reg + w_reg;
        end
        if (w_reg >= 32'd2) begin
            mem_wr_en <= 1'b1;
            mem_wr_be <= 8'hFF;
            mem_wr_addr <= hole_a_reg + w2;
            mem_wr_data <= mem_rd_data;
        end
        w_reg <= w_reg + 32'd1;
        if (w_reg == bw_reg + 32'd1) begin
            hole_reg <= j_reg;
            hole_a_reg <= ja_reg;
            n_reg <= n_reg + 32'd1;
            j_reg <= (j_reg + 32'd1) & mask_reg;
            ja_reg <= j_reg == mask_reg ? base_reg : ja_reg + bw_reg;
            mem_rd_en <= 1'b1;
            mem_rd_addr <= j_reg == mask_reg ? base_reg : ja_reg + bw_reg;
            w_reg <= 32'hFFFF_FFFF;
            state_reg <= S_SH_W0;
        end
    end

    S_SCAN: begin
        // w_reg: FFFF_FFFF issue the read of bucket b_reg; 0 read in flight; 1 word 0 arrives
        if (w_reg == 32'hFFFF_FFFF) begin
            if (b_reg > mask_reg) begin
                errno_reg <= `MAP_ERRNO_ENOENT;
                state_reg <= S_DONE;
            end else begin
                mem_rd_en <= 1'b1;
                mem_rd_addr <= ba_reg;
                w_reg <= 32'd0;
            end
        end else if (w_reg == 32'd0) begin
            w_reg <= 32'd1;
        end else if (mem_rd_data[`MAP_BUCKET_VALID_BIT]) begin
            w_reg <= 32'd0;
            state_reg <= S_KEY_OUT;
        end else begin
            b_reg <= b_reg + 32'd1;
            ba_reg <= ba_reg + bw_reg;
            w_reg <= 32'hFFFF_FFFF;
        end
    end

    S_KEY_OUT: begin
        // key words of bucket ba_reg -> key staging: read word w, write word w-1
        if (w_reg < kw_reg) begin
            mem_rd_en <= 1'b1;
            mem_rd_addr <= ba_reg + w_reg + 32'd1;
        end
        if (w_reg >= 32'd2) begin
            kst[w2[KW_AW-1:0]] <= mem_rd_data;
        end
        w_reg <= w_reg + 32'd1;
        if (w_reg == kw_reg + 32'd1) begin
            state_reg <= S_DONE;
        end
    end

    S_EX_RMW: begin
        if (w_reg != 32'd1) begin
            w_reg <= 32'd1;            // read in flight
        end else begin
            mem_wr_en <= 1'b1;
            mem_wr_be <= 8'hFF;
            mem_wr_addr <= {3'd0, exaddr_reg[31:3]};
            if (exop_reg == `MAP_EX_ADD64) begin
                mem_wr_data <= mem_rd_data + exdata_reg;
            end else if (exaddr_reg[2]) begin
                mem_wr_data <= {mem_rd_data[63:32] + exdata_reg[31:0], mem_rd_data[31:0]};
            end else begin
                mem_wr_data <= {mem_rd_data[63:32], mem_rd_data[31:0] + exdata_reg[31:0]};
            end
            state_reg <= S_DONE;
        end
    end

    S_EX_READ: begin
        if (w_reg != 32'd1) begin
            w_reg <= 32'd1;
        end else begin
            resp_data_reg <= mem_rd_data;
            state_reg <= S_DONE;
        end
    end

    default: begin // S_DONE
        if (src_ex_reg) begin
            resp_valid_reg <= 1'b1;
            resp_ok_reg <= found_reg || new_reg;
            if (op_reg == `MAP_CMD_UPDATE) begin       // INSERT: the NIC slot of the element
                resp_addr_reg <= (va_reg + (slots_reg > 32'd1 ? ew_reg : 32'd0)) << 3;
            end
        end else begin
            done_reg <= 1'b1;
            cycles_reg <= cyc_cnt_reg;
        end
        w_reg <= 32'd0;
        state_reg <= S_IDLE;
    end
    endcase
    // executor INSERT/DELETE share the command paths: ERRNO stays the last bus command's
    if (src_ex_reg && state_reg != S_IDLE) begin
        errno_reg <= errno_reg;
    end

    if (rst) begin
        state_reg <= S_IDLE;
        cmd_pend_reg <= 1'b0;
        done_reg <= 1'b0;
        overrun_reg <= 1'b0;
        errno_reg <= 8'd0;
        cycles_reg <= 32'd0;
        turn_reg <= 32'd0;
        resp_valid_reg <= 1'b0;
        resp_ok_reg <= 1'b0;
        resp_addr_reg <= 32'd0;
        resp_data_reg <= 64'd0;
        mem_wr_en <= 1'b0;
        vst_wr_en <= 1'b0;
        w_reg <= 32'd0;
        cmd_reg <= 32'd0;
        for (m = 0; m < MAX_MAPS; m = m + 1) begin
            d_valid[m] <= 1'b0;
        end
        // staging reads back 0 after reset, as the value staging RAM does in simulation
        for (m = 0; m < 4; m = m + 1) begin
            desc_reg[m] <= 32'd0;
        end
        for (m = 0; m < KEY_WORDS; m = m + 1) begin
            kst[m] <= 64'd0;
        end
    end
end

// executor requests are taken only by an idle engine with no bus command starting
assign ex_req_ready = state_reg == S_IDLE && !cmd_start;
assign ex_resp_valid = resp_valid_reg;
assign ex_resp_ok = resp_ok_reg;
assign ex_resp_addr = resp_addr_reg;
assign ex_resp_data = resp_data_reg;

// ---- register reads: registered, or the value staging RAM's word ---------------------------------
reg [31:0] rdata_reg;
reg        rd_vst_reg;
assign bus_vst_rd = reg_rd && reg_raddr[11] && !cmd_busy && {21'd0, reg_raddr[10:0]} < VST_WORDS * 8;
reg        rd_hi_reg;

always @(posedge clk) begin
    if (reg_rd) begin
        rd_vst_reg <= reg_raddr[11] && !cmd_busy && {21'd0, reg_raddr[10:0]} < VST_WORDS * 8;
        rd_hi_reg <= reg_raddr[2];
        rdata_reg <= 32'd0;
        case (reg_raddr)
        O_CMD[11:0]:       rdata_reg <= cmd_reg;
        O_STATUS[11:0]:    rdata_reg <= {29'd0, overrun_reg, done_reg, cmd_busy};
        O_ERRNO[11:0]:     rdata_reg <= {24'd0, errno_reg};
        O_MEM_BYTES[11:0]: rdata_reg <= MAP_MEM_BYTES;
        O_LIMITS[11:0]:    rdata_reg <= {MAXV32[15:0], MAXK32[7:0], MAXM32[7:0]};
        O_CYCLES[11:0]:    rdata_reg <= cycles_reg;
        O_TURN[11:0]:      rdata_reg <= turn_reg;
        default: begin
            if (reg_raddr[11:4] == 8'h02) begin
                rdata_reg <= desc_reg[reg_raddr[3:2]];
            end else if (reg_raddr[11:8] == 4'h1 && {27'd0, reg_raddr[7:3]} < KEY_WORDS) begin
                rdata_reg <= reg_raddr[2] ? kst[reg_raddr[3 +: KW_AW]][63:32]
                                          : kst[reg_raddr[3 +: KW_AW]][31:0];
            end
        end
        endcase
    end
end

// address bits above the memory, the hash's bit 31, bucket fields a path does not use
wire unused_maps = ^mem_wr_addr[31:MEM_AW] ^ ^mem_rd_addr[31:MEM_AW] ^ ^exaddr_reg[2:0]
                   ^ h_reg[31] ^ ^w0_reg[63:32] ^ ^key0_cur[63:32];

assign reg_rdata = rd_vst_reg ? (rd_hi_reg ? vst_rd_data[63:32] : vst_rd_data[31:0]) : rdata_reg;

endmodule

`resetall
