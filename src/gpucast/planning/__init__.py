"""Where an inference plan is made: the application layer between the adapters and the core.

One request flows down this list (each module imports only the ones above it):

- ``request.py``    validate the inputs and look names up in the catalogs -> ``ResolvedRequest``
- ``search.py``     the best configuration of every allowed GPU, ranked (the core's search per GPU)
- ``build.py``      the chosen configuration -> ``LLMCapacityPlan`` (sections, warnings, ``--explain``)
- ``infeasible.py`` SLOs no load can meet: ``SLOInfeasibleError`` with the nearest feasible alternatives
- ``agent.py``      plans with agent / speculative / disaggregation inputs and their sections
- ``inference.py``  ``plan_inference``: the entry point every adapter calls
- ``compare.py``    every GPU x cloud x precision, ranked (``gpucast compare``)
- ``timeline.py``   a traffic forecast -> capacity per period (``gpucast predict --model``)
- ``estimate.py``   one fixed operating point (``gpucast estimate``), the planner's inverse
"""
