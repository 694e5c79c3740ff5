"""The guided conversation (``gpucast chat``, and ``gpucast`` alone on a terminal).

An adapter over the same API as the CLI: ``parse``/``names``/``numbers`` read free-form answers,
``questions`` holds what is asked (plain words, defaults, why), ``session`` is the state machine
with back/help/why/skip/summary/quit, ``compute`` builds the CLI's config sections and plans
through the CLI's own input path, ``explain`` says the result in plain language, ``llm`` is the
optional OpenAI-compatible fallback for answers the rules cannot read, and ``run`` ties it together.
"""
