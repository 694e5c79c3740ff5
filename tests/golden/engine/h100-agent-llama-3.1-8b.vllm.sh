# vLLM 0.34.0 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.vllm.ai/en/v0.34.0/configuration/engine_args.html
# one replica on 1 x H100-SXM; run 9-11 replicas of it; clients send model=llama-3.1-8b
# disaggregated prefill/decode (2 prefill + 10 decode instances of 1 GPUs = 12 GPUs; the plan's verdict: unified, 11 GPUs unified): this command is one unified replica; `gpucast export k8s` writes the two pools, or add --role prefill|decode for a pool's command
vllm serve meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 8000 \
  --served-model-name llama-3.1-8b \
  --tensor-parallel-size 1 \
  --pipeline-parallel-size 1 \
  --max-num-seqs 45 \
  --max-model-len 15000 \
  --gpu-memory-utilization 0.9 \
  --dtype auto \
  --enable-chunked-prefill \
  --max-num-batched-tokens 8192 \
  --enable-prefix-caching
