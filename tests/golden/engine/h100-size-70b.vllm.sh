# vLLM 0.34.0 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.vllm.ai/en/v0.34.0/configuration/engine_args.html
# WARNING: the plan's model is a --model-size stand-in (Dense-70B (Llama-style, shape of Llama-3.1-70B)), not a checkpoint: pass --served-model HF_ID with the model you will serve
# one replica on 2 x H100-SXM; run 3-4 replicas of it; clients send model=dense-70b
vllm serve dense-70b \
  --host 0.0.0.0 \
  --port 8000 \
  --served-model-name dense-70b \
  --tensor-parallel-size 2 \
  --pipeline-parallel-size 1 \
  --max-num-seqs 29 \
  --max-model-len 4096 \
  --gpu-memory-utilization 0.9 \
  --dtype auto \
  --enable-chunked-prefill \
  --max-num-batched-tokens 8192
