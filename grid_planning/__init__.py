"""Grid Planner: lay out tight urban medical groups on a grid (紧密型城市医疗集团网格化布局).

The library behind the dashboard and the CLI. It never imports streamlit.
"""

__version__ = "0.1.0"
