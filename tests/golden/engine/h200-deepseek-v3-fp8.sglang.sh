# SGLang 0.5.23 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.sglang.ai/advanced_features/server_arguments.html
# one replica on 8 x H200-SXM; run 2 replicas of it; clients send model=deepseek-v3
# --max-running-requests is the plan's concurrency, limited by the plan file's cap of 256 sequences (the value given, or the 256 an older gpucast recorded as the default); vLLM's default on H200-SXM is 1024: re-plan without --max-num-seqs to use it
# the plan was sized for vllm; SGLang applies the memory fraction under its own policy, so re-plan with --engine sglang for exact capacity
python3 -m sglang.launch_server \
  --model-path deepseek-ai/DeepSeek-V3 \
  --host 0.0.0.0 \
  --port 30000 \
  --enable-metrics \
  --served-model-name deepseek-v3 \
  --tp-size 8 \
  --pp-size 1 \
  --max-running-requests 256 \
  --context-length 4096 \
  --mem-fraction-static 0.9 \
  --kv-cache-dtype fp8_e4m3 \
  --chunked-prefill-size 8192
