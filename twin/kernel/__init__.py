"""Simulation kernel shared by the simulated components: processor sharing, timers, random streams, sketches."""
