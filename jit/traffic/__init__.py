"""Traffic: workload generators and packet-capture reading and writing."""
