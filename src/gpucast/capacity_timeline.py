"""The path the README documented before the application layer became packages, kept so user code keeps working:
``from gpucast.capacity_timeline import capacity_timeline``. The code lives in :mod:`gpucast.planning.timeline`."""

from .planning.timeline import CapacityPeriod, CapacityTimeline, FutureNeeds, capacity_timeline, forecast_future_needs

__all__ = ["CapacityPeriod", "CapacityTimeline", "FutureNeeds", "capacity_timeline", "forecast_future_needs"]
