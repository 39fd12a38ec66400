"""The benchmark (issue #6): ack latency, throughput and end-to-end time against a bare Bolt app."""
