# SGLang 0.5.9; flags: https://docs.sglang.ai/advanced_features/server_arguments.html
# one replica on 1 x L40S; run 5-6 replicas of it
# speculative decoding: Llama-3.1-8B has no MTP layers, so the one-layer proposer is an EAGLE-3 head; replace <eagle3-draft-model> with an EAGLE-3 checkpoint trained for it
# speculative decoding: k=3 draft tokens, acceptance 0.7 assumed (2.533 tokens per step); flags: https://docs.sglang.ai/advanced_features/speculative_decoding.html
# the plan was sized for vllm; SGLang applies the memory fraction under its own policy, so re-plan with --engine sglang for exact capacity
python3 -m sglang.launch_server \
  --model-path meta-llama/Llama-3.1-8B-Instruct \
  --host 0.0.0.0 \
  --port 30000 \
  --enable-metrics \
  --tp-size 1 \
  --pp-size 1 \
  --max-running-requests 41 \
  --context-length 6200 \
  --mem-fraction-static 0.9 \
  --dtype float16 \
  --chunked-prefill-size 8192 \
  --disable-radix-cache \
  --speculative-algorithm EAGLE3 \
  --speculative-draft-model-path '<eagle3-draft-model>' \
  --speculative-num-steps 3 \
  --speculative-eagle-topk 1 \
  --speculative-num-draft-tokens 4
