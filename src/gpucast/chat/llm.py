"""Optional: ask an OpenAI-compatible endpoint (``GPUCAST_LLM_URL``) to read an answer the rules
could not. Off unless the variable is set; any failure (network, timeout, odd reply) returns
nothing and the conversation carries on with the rule-based message, so nothing needs a network.

The endpoint only translates the user's words into ``{"field": "text"}``; each text is then read
by the same rule-based parser as a typed answer, so the LLM can never inject a value the rules
would reject.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from typing import Any

URL_VAR = "GPUCAST_LLM_URL"
MODEL_VAR = "GPUCAST_LLM_MODEL"
KEY_VAR = "GPUCAST_LLM_API_KEY"
TIMEOUT_S = 10.0

FIELDS = {
    "intent": "one of: serve, fine-tune, forecast, compare",
    "model": "a model name such as 'llama 3 70b'",
    "gpu": "a GPU name such as 'H100', or 'any'",
    "cloud": "aws, gcp or azure",
    "rps": "average requests per second, e.g. '20 rps' or '1200 requests per minute'",
    "llm_calls": "LLM calls per user request, a number",
    "tokens": "input and output tokens per request, e.g. '2000 in, 500 out'",
    "latency": "worst-case time to the first token, e.g. '2 seconds'",
    "method": "full, lora or qlora",
    "dataset_tokens": "training data size in tokens, e.g. '500M'",
    "epochs": "a whole number",
    "seq_len": "tokens per training example, e.g. '2048'",
    "horizon": "how far ahead, e.g. '2 weeks'",
    "history": "a file path",
    "confirm": "yes or no",
}


def endpoint() -> str | None:
    """The chat-completions URL from ``GPUCAST_LLM_URL`` (a base such as http://host/v1 or the full URL)."""
    base = os.environ.get(URL_VAR, "").strip()
    if not base:
        return None
    return base if base.rstrip("/").endswith("/chat/completions") else base.rstrip("/") + "/chat/completions"


def ask(question: str, key: str, answer: str) -> dict[str, str]:
    """Field texts the endpoint reads in ``answer`` (to ``question``, about ``key``); {} on any failure."""
    url = endpoint()
    if url is None:
        return {}
    system = (
        "You turn a user's answer in a GPU capacity-planning conversation into JSON. Reply with one JSON object "
        "whose keys are among: " + "; ".join(f"{k} ({v})" for k, v in FIELDS.items()) + ". Values are short "
        "strings. Leave out anything the user did not say. No prose."
    )
    body = {
        "model": os.environ.get(MODEL_VAR, "gpt-4o-mini"),
        "temperature": 0,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": f"Question ({key}): {question}\nAnswer: {answer}"},
        ],
    }
    headers = {"Content-Type": "application/json"}
    if os.environ.get(KEY_VAR):
        headers["Authorization"] = f"Bearer {os.environ[KEY_VAR]}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # the user-configured endpoint
            reply = json.loads(response.read().decode("utf-8", "replace"))
        content = reply["choices"][0]["message"]["content"]
    except (OSError, ValueError, KeyError, IndexError, TypeError, urllib.error.URLError):
        return {}
    return _fields(content)


def _fields(content: Any) -> dict[str, str]:
    """The known fields of a JSON object in ``content`` (tolerating ```json fences)."""
    if not isinstance(content, str):
        return {}
    match = re.search(r"\{.*\}", content, re.DOTALL)
    if not match:
        return {}
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: str(v) for k, v in data.items() if k in FIELDS and v not in (None, "")}
