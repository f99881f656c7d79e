"""Kubernetes: nodes, pods, scheduling, Services that balance connections."""
