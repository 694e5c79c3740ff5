# vLLM 0.10.2; flags: https://docs.vllm.ai/en/v0.10.2/configuration/engine_args.html
# one replica on 8 x H200-SXM; run 2-2 replicas of it
# speculative decoding: k=2 draft tokens, acceptance 0.8 assumed (2.44 tokens per step); flags: https://docs.vllm.ai/en/v0.10.2/features/spec_decode.html
vllm serve deepseek-ai/DeepSeek-V3 \
  --host 0.0.0.0 \
  --port 8000 \
  --tensor-parallel-size 8 \
  --pipeline-parallel-size 1 \
  --max-num-seqs 256 \
  --max-model-len 4096 \
  --gpu-memory-utilization 0.9 \
  --quantization fp8 \
  --kv-cache-dtype fp8 \
  --enable-chunked-prefill \
  --max-num-batched-tokens 8192 \
  --speculative-config '{"method": "deepseek_mtp", "num_speculative_tokens": 2}'
