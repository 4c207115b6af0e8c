"""Grid Planner: lay out tight urban medical groups on a grid (紧密型城市医疗集团网格化布局).

The library behind the dashboard and the CLI. It never imports streamlit.
"""

from grid_planning.base.version import __version__

__all__ = ["__version__"]
