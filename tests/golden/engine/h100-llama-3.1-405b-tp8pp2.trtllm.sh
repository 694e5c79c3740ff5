# TensorRT-LLM 1.2.1 (gpucast's default is the current stable release; --engine-version picks another); flags: https://nvidia.github.io/TensorRT-LLM/1.2.1/commands/trtllm-serve/trtllm-serve.html
# one replica on 16 x H100-SXM; run 2 replicas of it; clients send model=meta-llama/Llama-3.1-405B-Instruct
# the plan was sized for vllm; TensorRT-LLM applies the memory fraction under its own policy, so re-plan with --engine trtllm for exact capacity
trtllm-serve meta-llama/Llama-3.1-405B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --backend pytorch \
  --tp_size 8 \
  --pp_size 2 \
  --max_batch_size 34 \
  --max_seq_len 4096 \
  --kv_cache_free_gpu_memory_fraction 0.9 \
  --enable_chunked_prefill \
  --max_num_tokens 8192
