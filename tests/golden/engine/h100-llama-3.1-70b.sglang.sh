# SGLang 0.5.23 (gpucast's default is the current stable release; --engine-version picks another); flags: https://docs.sglang.ai/advanced_features/server_arguments.html
# one replica on 4 x H100-SXM; run 2 replicas of it; clients send model=llama-3.1-70b
# --max-running-requests is the plan's concurrency, limited by the plan file's cap of 256 sequences (the value given, or the 256 an older gpucast recorded as the default); vLLM's default on H100-SXM is 1024: re-plan without --max-num-seqs to use it
# the plan was sized for vllm; SGLang applies the memory fraction under its own policy, so re-plan with --engine sglang for exact capacity
python3 -m sglang.launch_server \
  --model-path meta-llama/Llama-3.1-70B-Instruct \
  --host 0.0.0.0 \
  --port 30000 \
  --enable-metrics \
  --served-model-name llama-3.1-70b \
  --tp-size 4 \
  --pp-size 1 \
  --max-running-requests 256 \
  --context-length 4096 \
  --mem-fraction-static 0.9 \
  --dtype auto \
  --chunked-prefill-size 8192
