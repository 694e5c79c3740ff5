# vLLM 0.34.0 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.vllm.ai/en/v0.34.0/configuration/engine_args.html
# one replica on 8 x H200-SXM; run 2 replicas of it; clients send model=deepseek-v3
# --max-num-seqs is the plan's concurrency, limited by the plan file's cap of 256 sequences (the value given, or the 256 an older gpucast recorded as the default); vLLM's default on H200-SXM is 1024: re-plan without --max-num-seqs to use it
vllm serve deepseek-ai/DeepSeek-V3 \
  --host 0.0.0.0 \
  --port 8000 \
  --served-model-name deepseek-v3 \
  --tensor-parallel-size 8 \
  --pipeline-parallel-size 1 \
  --max-num-seqs 256 \
  --max-model-len 4096 \
  --gpu-memory-utilization 0.9 \
  --kv-cache-dtype fp8 \
  --enable-chunked-prefill \
  --max-num-batched-tokens 8192
