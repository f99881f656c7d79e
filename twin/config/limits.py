"""The limits that keep a run finite, each with its reason: sizes beyond them take hours or all memory, or do not
exist in Kubernetes. Plain numbers, so that command-line flags check them without loading the schema."""

MAX_DURATION_S = 366 * 86400  # a simulated year; the soak benchmark runs a week
MAX_PODS = 150_000  # Kubernetes "Considerations for large clusters": at most 150,000 pods
MAX_NODES = 5_000  # same page: at most 5,000 nodes
MAX_USERS = 100_000  # each user is a connection held for the whole run; JMeter engines hold a few thousand
MAX_WORKERS = 1_024  # TorchServe workers per model on one pod, each a Python process
MAX_VCPUS = 1_024  # larger than any cloud VM (the largest offer under 900 vCPUs)
MAX_MEMORY_GIB = 32_768  # 32 TiB, the largest cloud VMs
MAX_GPUS_PER_NODE = 64
MAX_BATCH_SIZE = 65_536  # TorchServe's batchSize; larger batches exist in no serving setup
