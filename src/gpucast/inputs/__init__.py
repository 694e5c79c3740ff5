"""What goes into a plan: the Python API's input dataclasses and the seed's JSON config.

- ``types.py``        ``LLMWorkloadInput``, ``ModelConfig``, ``GPUConfig``, ``ServingOptions``: serving inputs and
                      their validation
- ``agent.py``        ``AgentWorkloadInput`` (the ``agent`` section: tasks of several LLM calls)
- ``training.py``     ``TrainingInput``, ``TrainingOptions`` and the ``--framework`` aliases
- ``numbers.py``      the value checks every input shares (positive, whole, fraction, a file cell's number)
- ``json_config.py``  the seed's JSON config files: read, validate keys, merge with flags, write templates
- ``sections.py``     config sections (the JSON config's shape) -> the input dataclasses, for every adapter

Imports only the core and ``gpucast.errors``.
"""
