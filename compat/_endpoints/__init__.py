"""Endpoints of the local API: plain ``(app, request, **path_params) -> dict`` functions."""
