"""Maps of the directory, drawn with folium and served offline: organisations, coverage gaps,
referral paths and funding. See docs/maps.md for the location rules they keep."""
