"""GPUs: memory as a hard capacity, compute shared by time-slicing or split into MIG slices."""
