# vLLM 0.34.0 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.vllm.ai/en/v0.34.0/configuration/engine_args.html
# one replica on 16 x H100-SXM; run 2 replicas of it; clients send model=llama-3.1-405b
vllm serve meta-llama/Llama-3.1-405B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --served-model-name llama-3.1-405b \
  --tensor-parallel-size 8 \
  --pipeline-parallel-size 2 \
  --max-num-seqs 68 \
  --max-model-len 4096 \
  --gpu-memory-utilization 0.9 \
  --dtype auto \
  --enable-chunked-prefill \
  --max-num-batched-tokens 8192
