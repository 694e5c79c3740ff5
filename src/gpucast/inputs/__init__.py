"""What goes into a plan: the Python API's input dataclasses and the seed's JSON config.

- ``types.py``        ``LLMWorkloadInput``, ``ModelConfig``, ``GPUConfig``, ``ServingOptions``, ``TrainingInput``,
                      ``TrainingOptions``, ``AgentWorkloadInput``: validation and the value checks they share
- ``json_config.py``  the seed's JSON config files: read, validate keys, merge with flags, write templates
- ``sections.py``     config sections (the JSON config's shape) -> the input dataclasses, for every adapter

Imports only the core and ``gpucast.errors``.
"""
