# TensorRT-LLM 1.2.1 (gpucast's default is the current stable release; --engine-version picks another); flags: https://nvidia.github.io/TensorRT-LLM/1.2.1/commands/trtllm-serve/trtllm-serve.html
# one replica on 1 x H100-SXM; run 9-11 replicas of it; clients send model=meta-llama/Llama-3.1-8B-Instruct
# disaggregated prefill/decode (2 prefill + 10 decode instances of 1 GPUs = 12 GPUs; the plan's verdict: unified, 11 GPUs unified): this command is one unified replica; `gpucast export k8s` writes the two pools, or add --role prefill|decode for a pool's command
# the plan was sized for vllm; TensorRT-LLM applies the memory fraction under its own policy, so re-plan with --engine trtllm for exact capacity
cat > /etc/trtllm/llm-api-options.yaml <<'EOF'
kv_cache_config:
  enable_block_reuse: true
  free_gpu_memory_fraction: 0.9
EOF
trtllm-serve meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --backend pytorch \
  --tp_size 1 \
  --pp_size 1 \
  --max_batch_size 45 \
  --max_seq_len 15000 \
  --kv_cache_free_gpu_memory_fraction 0.9 \
  --enable_chunked_prefill \
  --max_num_tokens 8192 \
  --config /etc/trtllm/llm-api-options.yaml
