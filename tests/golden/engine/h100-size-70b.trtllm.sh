# TensorRT-LLM 1.2.1 (gpucast's default is the current stable release; --engine-version picks another); flags: https://nvidia.github.io/TensorRT-LLM/1.2.1/commands/trtllm-serve/trtllm-serve.html
# WARNING: the plan's model is a --model-size stand-in (Dense-70B (Llama-style, shape of Llama-3.1-70B)), not a checkpoint: pass --served-model HF_ID with the model you will serve
# one replica on 2 x H100-SXM; run 3-4 replicas of it; clients send model=dense-70b
# the plan was sized for vllm; TensorRT-LLM applies the memory fraction under its own policy, so re-plan with --engine trtllm for exact capacity
trtllm-serve dense-70b \
  --host 0.0.0.0 \
  --port 8000 \
  --backend pytorch \
  --tp_size 2 \
  --pp_size 1 \
  --max_batch_size 29 \
  --max_seq_len 4096 \
  --kv_cache_free_gpu_memory_fraction 0.9 \
  --enable_chunked_prefill \
  --max_num_tokens 8192
