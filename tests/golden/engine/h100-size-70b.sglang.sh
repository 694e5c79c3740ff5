# SGLang 0.5.23 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.sglang.ai/advanced_features/server_arguments.html
# WARNING: the plan's model is a --model-size stand-in (Dense-70B (Llama-style, shape of Llama-3.1-70B)), not a checkpoint: pass --served-model HF_ID with the model you will serve
# one replica on 2 x H100-SXM; run 3-4 replicas of it; clients send model=dense-70b
# the plan was sized for vllm; SGLang applies the memory fraction under its own policy, so re-plan with --engine sglang for exact capacity
python3 -m sglang.launch_server \
  --model-path dense-70b \
  --host 0.0.0.0 \
  --port 30000 \
  --enable-metrics \
  --served-model-name dense-70b \
  --tp-size 2 \
  --pp-size 1 \
  --max-running-requests 29 \
  --context-length 4096 \
  --mem-fraction-static 0.9 \
  --dtype auto \
  --chunked-prefill-size 8192
