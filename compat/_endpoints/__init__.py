"""Endpoints of the local API: plain ``(sv, request, **path_params) -> dict`` functions."""
