# SGLang 0.5.23 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.sglang.ai/advanced_features/server_arguments.html
# one replica on 16 x H100-SXM; run 2 replicas of it; clients send model=llama-3.1-405b
# the plan was sized for vllm; SGLang applies the memory fraction under its own policy, so re-plan with --engine sglang for exact capacity
python3 -m sglang.launch_server \
  --model-path meta-llama/Llama-3.1-405B-Instruct \
  --host 0.0.0.0 \
  --port 30000 \
  --enable-metrics \
  --served-model-name llama-3.1-405b \
  --tp-size 8 \
  --pp-size 2 \
  --max-running-requests 68 \
  --context-length 4096 \
  --mem-fraction-static 0.9 \
  --dtype auto \
  --chunked-prefill-size 8192
