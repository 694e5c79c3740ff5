# vLLM 0.10.2; flags: https://docs.vllm.ai/en/v0.10.2/configuration/engine_args.html
# one replica on 1 x L40S; run 5-6 replicas of it
# speculative decoding: Llama-3.1-8B has no MTP layers, so the one-layer proposer is an EAGLE-3 head; replace <eagle3-draft-model> with an EAGLE-3 checkpoint trained for it
# speculative decoding: k=3 draft tokens, acceptance 0.7 assumed (2.533 tokens per step); flags: https://docs.vllm.ai/en/v0.10.2/features/spec_decode.html
vllm serve meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --tensor-parallel-size 1 \
  --pipeline-parallel-size 1 \
  --max-num-seqs 41 \
  --max-model-len 6200 \
  --gpu-memory-utilization 0.9 \
  --dtype float16 \
  --enable-chunked-prefill \
  --max-num-batched-tokens 8192 \
  --no-enable-prefix-caching \
  --speculative-config '{"method": "eagle3", "num_speculative_tokens": 3, "model": "<eagle3-draft-model>"}'
