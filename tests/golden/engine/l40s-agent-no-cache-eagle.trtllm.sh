# TensorRT-LLM 1.0.0; flags: https://nvidia.github.io/TensorRT-LLM/1.0.0/commands/trtllm-serve/trtllm-serve.html
# one replica on 1 x L40S; run 5-6 replicas of it
# speculative decoding: Llama-3.1-8B has no MTP layers, so the one-layer proposer is an EAGLE-3 head; replace <eagle3-draft-model> with an EAGLE-3 checkpoint trained for it
# speculative decoding: k=3 draft tokens, acceptance 0.7 assumed (2.533 tokens per step); flags: https://nvidia.github.io/TensorRT-LLM/1.0.0/features/speculative-decoding.html
# the plan was sized for vllm; TensorRT-LLM applies the memory fraction under its own policy, so re-plan with --engine trtllm for exact capacity
cat > /etc/trtllm/extra-llm-api-options.yaml <<'EOF'
enable_chunked_prefill: true
kv_cache_config:
  enable_block_reuse: false
speculative_config:
  decoding_type: Eagle
  max_draft_len: 3
  speculative_model_dir: <eagle3-draft-model>
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
  --max_num_tokens 8192 \
  --extra_llm_api_options /etc/trtllm/extra-llm-api-options.yaml
