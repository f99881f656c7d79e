"""KEDA (kedacore/keda): ScaledObject manifests, scalers, fallback and the operator's scale loop, as pure steps."""
