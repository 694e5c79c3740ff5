# SGLang 0.5.23 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.sglang.ai/advanced_features/server_arguments.html
# one replica on 1 x H100-SXM; run 9-11 replicas of it; clients send model=llama-3.1-8b
# disaggregated prefill/decode (2 prefill + 10 decode instances of 1 GPUs = 12 GPUs; the plan's verdict: unified, 11 GPUs unified): this command is one unified replica; `gpucast export k8s` writes the two pools, or add --role prefill|decode for a pool's command
# the plan was sized for vllm; SGLang applies the memory fraction under its own policy, so re-plan with --engine sglang for exact capacity
python3 -m sglang.launch_server \
  --model-path meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 30000 \
  --enable-metrics \
  --served-model-name llama-3.1-8b \
  --tp-size 1 \
  --pp-size 1 \
  --max-running-requests 45 \
  --context-length 15000 \
  --mem-fraction-static 0.9 \
  --dtype auto \
  --chunked-prefill-size 8192
