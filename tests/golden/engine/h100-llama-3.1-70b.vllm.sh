# vLLM 0.34.0 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.vllm.ai/en/v0.34.0/configuration/engine_args.html
# one replica on 4 x H100-SXM; run 2 replicas of it; clients send model=llama-3.1-70b
# --max-num-seqs is the plan's concurrency, limited by the plan file's cap of 256 sequences (the value given, or the 256 an older gpucast recorded as the default); vLLM's default on H100-SXM is 1024: re-plan without --max-num-seqs to use it
vllm serve meta-llama/Llama-3.1-70B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --served-model-name llama-3.1-70b \
  --tensor-parallel-size 4 \
  --pipeline-parallel-size 1 \
  --max-num-seqs 256 \
  --max-model-len 4096 \
  --gpu-memory-utilization 0.9 \
  --dtype auto \
  --enable-chunked-prefill \
  --max-num-batched-tokens 8192
