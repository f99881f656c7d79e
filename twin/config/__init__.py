"""Scenario files: schema, loading with line-accurate errors, and real TorchServe config.properties."""
