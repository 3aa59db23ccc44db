"""The whole system under supervisord (scripts/run) on private ports and a private run dir.

The rig lives in scripts/paper_system.py, shared with scripts/chaos; re-exported here.
"""

from scripts.paper_system import API_KEY, API_SECRET, System, VenueError, running_system

__all__ = ["API_KEY", "API_SECRET", "System", "VenueError", "running_system"]
