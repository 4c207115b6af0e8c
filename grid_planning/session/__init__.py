"""What the dashboard pages drive, without Streamlit: one planner's workspace, uploads and widget
state, and the team's view of saved scenarios.
"""
