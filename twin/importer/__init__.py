"""Scenarios from what users have: cluster objects (kubectl, helm), TorchServe's config.properties and a profile."""
