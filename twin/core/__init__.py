"""Assembly: the world built from a scenario, its clock, and the results it produces."""
