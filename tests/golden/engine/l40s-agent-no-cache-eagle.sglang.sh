# SGLang 0.5.23 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.sglang.ai/advanced_features/server_arguments.html
# one replica on 1 x L40S; run 5-6 replicas of it; clients send model=llama-3.1-8b
# step token budget 2,048: the one the plan was sized with (SGLang 0.5.23's default on L40S is 4,096)
# speculative decoding is OFF in this command: Llama-3.1-8B has no MTP layers, so the plan's one-layer proposer is an EAGLE-3 head, a separate checkpoint; export again with --speculative-model HF_ID (an EAGLE-3 head trained for this model) to turn on the plan's k=3
# the plan was sized for vllm; SGLang applies the memory fraction under its own policy, so re-plan with --engine sglang for exact capacity
python3 -m sglang.launch_server \
  --model-path meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 30000 \
  --enable-metrics \
  --served-model-name llama-3.1-8b \
  --tp-size 1 \
  --pp-size 1 \
  --max-running-requests 41 \
  --context-length 6200 \
  --mem-fraction-static 0.9 \
  --dtype auto \
  --chunked-prefill-size 2048 \
  --disable-radix-cache
