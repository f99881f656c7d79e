"""The Vertical Pod Autoscaler (kubernetes/autoscaler vertical-pod-autoscaler): recommender, updater and admission
as pure steps over plain data."""
