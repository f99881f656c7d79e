"""The Cluster Autoscaler (kubernetes/autoscaler cluster-autoscaler): scale-up, scale-down and binpacking."""
