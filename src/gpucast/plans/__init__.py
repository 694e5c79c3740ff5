"""What comes out of a plan: the result dataclasses (the seed's field names) and their JSON Schema.

- ``inference.py``  ``LLMCapacityPlan`` and its sections (``gpu_resources``, ``cost``, ...)
- ``training.py``   ``TrainingCapacityPlan`` and its sections (``training_metrics``, ...)
- ``schema.py``     the JSON Schema of both, derived from the dataclasses (``schemas/*.json`` is its output)

Made by ``gpucast.planning`` and ``gpucast.training``; read by every adapter. Imports only the core and
``gpucast.jsonable``.
"""
