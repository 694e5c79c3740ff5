# vLLM 0.34.0 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.vllm.ai/en/v0.34.0/configuration/engine_args.html
# one replica on 1 x L40S; run 5-6 replicas of it; clients send model=llama-3.1-8b
# speculative decoding is OFF in this command: Llama-3.1-8B has no MTP layers, so the plan's one-layer proposer is an EAGLE-3 head, a separate checkpoint; export again with --speculative-model HF_ID (an EAGLE-3 head trained for this model) to turn on the plan's k=3
vllm serve meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --served-model-name llama-3.1-8b \
  --tensor-parallel-size 1 \
  --pipeline-parallel-size 1 \
  --max-num-seqs 41 \
  --max-model-len 6200 \
  --gpu-memory-utilization 0.9 \
  --dtype auto \
  --enable-chunked-prefill \
  --max-num-batched-tokens 2048 \
  --no-enable-prefix-caching
