"""The HorizontalPodAutoscaler controller (kubernetes/kubernetes pkg/controller/podautoscaler) as pure steps."""
