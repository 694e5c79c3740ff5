# TensorRT-LLM 1.2.1 (gpucast's default is the current stable release; --engine-version picks another); flags: https://nvidia.github.io/TensorRT-LLM/1.2.1/commands/trtllm-serve/trtllm-serve.html
# one replica on 8 x H200-SXM; run 2 replicas of it; clients send model=deepseek-ai/DeepSeek-V3
# --max_batch_size is the plan's concurrency, limited by the plan file's cap of 256 sequences (the value given, or the 256 an older gpucast recorded as the default); vLLM's default on H200-SXM is 1024: re-plan without --max-num-seqs to use it
# speculative decoding: k=2 draft tokens, acceptance 0.8 assumed (2.44 tokens per step); flags: https://nvidia.github.io/TensorRT-LLM/1.2.1/features/speculative-decoding.html
# the plan was sized for vllm; TensorRT-LLM applies the memory fraction under its own policy, so re-plan with --engine trtllm for exact capacity
cat > /etc/trtllm/llm-api-options.yaml <<'EOF'
kv_cache_config:
  dtype: fp8
  free_gpu_memory_fraction: 0.9
speculative_config:
  decoding_type: MTP
  num_nextn_predict_layers: 2
EOF
trtllm-serve deepseek-ai/DeepSeek-V3 \
  --host 0.0.0.0 \
  --port 8000 \
  --backend pytorch \
  --tp_size 8 \
  --pp_size 1 \
  --max_batch_size 256 \
  --max_seq_len 4096 \
  --kv_cache_free_gpu_memory_fraction 0.9 \
  --enable_chunked_prefill \
  --max_num_tokens 8192 \
  --config /etc/trtllm/llm-api-options.yaml
