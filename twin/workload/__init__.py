"""Workloads: JMeter-like closed loops and open-loop arrival processes."""
