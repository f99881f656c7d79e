"""Reconcile steps: read through twin.ports, decide with a pure policy, write through the ports."""
