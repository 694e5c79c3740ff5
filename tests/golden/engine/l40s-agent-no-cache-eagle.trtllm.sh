# TensorRT-LLM 1.2.1 (gpucast's default is the current stable release; --engine-version picks another); flags: https://nvidia.github.io/TensorRT-LLM/1.2.1/commands/trtllm-serve/trtllm-serve.html
# one replica on 1 x L40S; run 5-6 replicas of it; clients send model=meta-llama/Llama-3.1-8B-Instruct
# step token budget 2,048: the one the plan was sized with (TensorRT-LLM 1.2.1's default on L40S is 8,192)
# speculative decoding is OFF in this command: Llama-3.1-8B has no MTP layers, so the plan's one-layer proposer is an EAGLE-3 head, a separate checkpoint; export again with --speculative-model HF_ID (an EAGLE-3 head trained for this model) to turn on the plan's k=3
# the plan was sized for vllm; TensorRT-LLM applies the memory fraction under its own policy, so re-plan with --engine trtllm for exact capacity
cat > /etc/trtllm/llm-api-options.yaml <<'EOF'
kv_cache_config:
  enable_block_reuse: false
  free_gpu_memory_fraction: 0.9
EOF
trtllm-serve meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --backend pytorch \
  --tp_size 1 \
  --pp_size 1 \
  --max_batch_size 41 \
  --max_seq_len 6200 \
  --kv_cache_free_gpu_memory_fraction 0.9 \
  --enable_chunked_prefill \
  --max_num_tokens 2048 \
  --config /etc/trtllm/llm-api-options.yaml
