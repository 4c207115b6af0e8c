"""Interactive maps (Leaflet through folium), every asset served offline: the city overview,
plan, travel-time and coverage maps, and the standalone HTML map.
"""
