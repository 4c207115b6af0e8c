"""Every file out of a plan, from one in-memory model: the plan GeoPackage and the download
formats (GeoJSON, Shapefile, CSV, XLSX, HTML, print map, report).
"""
