# vLLM 0.34.0 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.vllm.ai/en/v0.34.0/configuration/engine_args.html
# one replica on 1 x L4; run 2 replicas of it; clients send model=llama-3.1-8b
vllm serve meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --served-model-name llama-3.1-8b \
  --tensor-parallel-size 1 \
  --pipeline-parallel-size 1 \
  --max-num-seqs 61 \
  --max-model-len 4096 \
  --gpu-memory-utilization 0.9 \
  --quantization fp8 \
  --enable-chunked-prefill \
  --max-num-batched-tokens 2048
