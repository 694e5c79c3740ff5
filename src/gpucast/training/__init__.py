"""Where a training / fine-tuning plan is made (application layer).

- ``plan.py``      ``plan_training``: the parallelism search over GPUs and counts -> ``TrainingCapacityPlan``
- ``estimate.py``  one fixed training setup (``gpucast estimate --mode training``) and its GPU comparison
"""
