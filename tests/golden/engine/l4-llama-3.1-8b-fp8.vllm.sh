# vLLM 0.10.2; flags: https://docs.vllm.ai/en/v0.10.2/configuration/engine_args.html
# one replica on 1 x L4; run 2-2 replicas of it
vllm serve meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --tensor-parallel-size 1 \
  --pipeline-parallel-size 1 \
  --max-num-seqs 61 \
  --max-model-len 4096 \
  --gpu-memory-utilization 0.9 \
  --quantization fp8 \
  --enable-chunked-prefill \
  --max-num-batched-tokens 8192
