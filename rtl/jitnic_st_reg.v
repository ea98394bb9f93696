`resetall
`timescale 1ns / 1ps
`default_nettype none
// SPDX-License-Identifier: MIT
// JITNIC stream register slice: full-throughput skid buffer, registered valid, ready and payload.

module jitnic_st_reg #(
    // payload bits (data, start/end of packet, empty, channel, ...)
    parameter WIDTH = 72
) (
    input  wire             clk,
    input  wire             rst,

    input  wire [WIDTH-1:0] in_data,
    input  wire             in_valid,
    output wire             in_ready,

    output wire [WIDTH-1:0] out_data,
    output wire             out_valid,
    input  wire             out_ready
);

reg [WIDTH-1:0] out_data_reg, skid_data_reg;
reg             out_valid_reg, skid_valid_reg;

// in_ready depends on registers only: the skid register catches the beat accepted while the
// output stalls
wire take = in_valid && !skid_valid_reg;

always @(posedge clk) begin
    if (out_ready || !out_valid_reg) begin
        if (skid_valid_reg) begin
            out_data_reg <= skid_data_reg;
            out_valid_reg <= 1'b1;
            skid_valid_reg <= 1'b0;
        end else begin
            out_data_reg <= in_data;
            out_valid_reg <= take;
        end
    end else if (take) begin
        skid_data_reg <= in_data;
        skid_valid_reg <= 1'b1;
    end
    if (rst) begin
        out_valid_reg <= 1'b0;
        skid_valid_reg <= 1'b0;
    end
end

initial begin
    out_data_reg = {WIDTH{1'b0}};
    skid_data_reg = {WIDTH{1'b0}};
end

assign in_ready = !skid_valid_reg;
assign out_data = out_data_reg;
assign out_valid = out_valid_reg;

endmodule

`resetall
