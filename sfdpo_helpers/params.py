"""Checks for a notebook's ``parameters`` cell, so a typo in a papermill run fails loudly.

A notebook records the names that exist before its parameters cell (``_before``) and, at the
end of that cell, a copy of the defaults (``_defaults``). Papermill injects its values in a cell
right after it; :func:`check_parameters` then rejects names the notebook does not know and
values whose type does not match the default's.
"""

from __future__ import annotations


class ParameterError(ValueError):
    """A papermill parameter that is unknown, of the wrong type or out of range."""


def defaults_of(namespace: dict, before: set) -> dict:
    """The parameters defined since ``before`` was taken (public names only)."""
    return {k: v for k, v in namespace.items() if k not in before and not k.startswith("_")}


def _type_ok(default, value) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def check_parameters(
    namespace: dict, before: set, defaults: dict, positive=(), non_negative=(), choices: dict | None = None
) -> dict:
    """Validate the notebook's parameters after papermill's injection; return them as a dict."""
    unknown = sorted(k for k in namespace if k not in before and k not in defaults and not k.startswith("_"))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown}; this notebook takes {sorted(defaults)}")
    params = {k: namespace[k] for k in defaults}
    for k, default in defaults.items():
        if not _type_ok(default, params[k]):
            raise ParameterError(
                f"parameter {k}={params[k]!r} should be {type(default).__name__} like its default {default!r}"
            )
    for k in positive:
        if params[k] is not None and params[k] <= 0:
            raise ParameterError(f"parameter {k} must be positive, got {params[k]!r}")
    for k in non_negative:
        if params[k] is not None and params[k] < 0:
            raise ParameterError(f"parameter {k} must be >= 0, got {params[k]!r}")
    for k, allowed in (choices or {}).items():
        if params[k] not in allowed:
            raise ParameterError(f"parameter {k}={params[k]!r} must be one of {sorted(allowed)}")
    return params
