"""TorchServe: frontend, job queue, batching and worker processes of one pod."""
