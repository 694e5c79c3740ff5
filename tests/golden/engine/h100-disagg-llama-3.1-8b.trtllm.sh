# TensorRT-LLM 1.2.1 (gpucast's default is the current stable release; --engine-version picks another); flags: https://nvidia.github.io/TensorRT-LLM/1.2.1/commands/trtllm-serve/trtllm-serve.html
# one replica on 4 x H100-SXM; run 10-16 replicas of it; clients send model=meta-llama/Llama-3.1-8B-Instruct
# disaggregated prefill/decode (4 prefill + 10 decode instances of 4 GPUs = 56 GPUs; the plan's verdict: disaggregated, 64 GPUs unified): this command is one unified replica; `gpucast export k8s` writes the two pools, or add --role prefill|decode for a pool's command
# the plan was sized for vllm; TensorRT-LLM applies the memory fraction under its own policy, so re-plan with --engine trtllm for exact capacity
trtllm-serve meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --backend pytorch \
  --tp_size 4 \
  --pp_size 1 \
  --max_batch_size 93 \
  --max_seq_len 5000 \
  --kv_cache_free_gpu_memory_fraction 0.9 \
  --enable_chunked_prefill \
  --max_num_tokens 8192
