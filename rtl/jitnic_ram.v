`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC simple dual-port RAM: one byte-enabled write port, one synchronous read port.

module jitnic_ram #(
    // word width in bits; multiple of 8
    parameter DATA_W = 64,
    // address width; depth is 2**ADDR_W words
    parameter ADDR_W = 8,
    // byte enables (derived, do not override)
    parameter BE_W = DATA_W / 8
) (
    input  wire              clk,

    // write port: bytes with wr_be set are written
    input  wire              wr_en,
    input  wire [BE_W-1:0]   wr_be,
    input  wire [ADDR_W-1:0] wr_addr,
    input  wire [DATA_W-1:0] wr_data,

    // read port: rd_data is the word at rd_addr of the previous cycle with rd_en set (held otherwise)
    input  wire              rd_en,
    input  wire [ADDR_W-1:0] rd_addr,
    output wire [DATA_W-1:0] rd_data
);

reg [DATA_W-1:0] mem [0:(1 << ADDR_W)-1];
reg [DATA_W-1:0] rd_data_reg;

integer i;

initial begin
    // simulation only: a defined start, so stale reads never show X (left out of synthesis,
    // where yosys would unroll the loop word by word: minutes for the 32K-word map memory)
`ifndef SYNTHESIS
    for (i = 0; i < (1 << ADDR_W); i = i + 1) begin
        mem[i] = {DATA_W{1'b0}};
    end
`endif
    rd_data_reg = {DATA_W{1'b0}};
    if (DATA_W % 8 != 0) begin
        $display("Error: DATA_W must be a multiple of 8, got %0d (instance %m)", DATA_W);
        $finish;
    end
end

always @(posedge clk) begin
    for (i = 0; i < BE_W; i = i + 1) begin
        if (wr_en && wr_be[i]) begin
            mem[wr_addr][8*i +: 8] <= wr_data[8*i +: 8];
        end
    end
    if (rd_en) begin
        rd_data_reg <= mem[rd_addr];
    end
end

assign rd_data = rd_data_reg;

endmodule

`resetall
