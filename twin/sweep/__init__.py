"""Batch runs of scenarios: sweep files, local or Dask execution, tidy tables, and a policy optimiser."""
