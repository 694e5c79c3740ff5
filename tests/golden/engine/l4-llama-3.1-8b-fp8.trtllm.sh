# TensorRT-LLM 1.2.1 (gpucast's default is the current stable release; --engine-version picks another); flags: https://nvidia.github.io/TensorRT-LLM/1.2.1/commands/trtllm-serve/trtllm-serve.html
# one replica on 1 x L4; run 2 replicas of it; clients send model=meta-llama/Llama-3.1-8B-Instruct
# FP8 weights: serve a pre-quantized FP8 checkpoint of meta-llama/Llama-3.1-8B-Instruct (TensorRT-LLM reads its quantization config)
# step token budget 2,048: the one the plan was sized with (TensorRT-LLM 1.2.1's default on L4 is 8,192)
# the plan was sized for vllm; TensorRT-LLM applies the memory fraction under its own policy, so re-plan with --engine trtllm for exact capacity
trtllm-serve meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --backend pytorch \
  --tp_size 1 \
  --pp_size 1 \
  --max_batch_size 61 \
  --max_seq_len 4096 \
  --kv_cache_free_gpu_memory_fraction 0.9 \
  --enable_chunked_prefill \
  --max_num_tokens 2048
