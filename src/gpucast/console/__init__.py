"""Terminal output and flags shared by the two terminal front-ends, the CLI (`cli/`) and the conversation (`chat/`).

The printer lives below both, so neither imports the other's internals:

- ``render.py``, ``render_agent.py``, ``render_training.py``  plans, comparisons and estimates as rich tables
- ``predict.py``  ``gpucast predict`` (forecast -> capacity timeline -> table or JSON), which the conversation replays
- ``saving.py``   the ``--save`` / ``--service`` hooks (the plan history in the store)
- ``flags.py``    argument types and flags both front-ends add to their parsers
- ``files.py``    atomic writes of ``--output`` files
"""
