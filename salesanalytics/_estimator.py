"""scikit-learn's estimator conventions without importing scikit-learn.

``get_params`` / ``set_params`` read the ``__init__`` signature, so ``sklearn.clone``,
``sklearn.base.clone`` in grid searches and ``repr`` work as they do for scikit-learn's own
estimators, while ``import salesanalytics`` stays light.
"""

from __future__ import annotations

import inspect

__all__ = ["ParamsMixin"]


class ParamsMixin:
    """``get_params``, ``set_params`` and ``repr`` from the ``__init__`` parameters.

    ``__init__`` only stores its parameters under the same names; fitted attributes end in
    ``_``.

    >>> class M(ParamsMixin):
    ...     def __init__(self, by=None, *, alpha=0.05):
    ...         self.by = by
    ...         self.alpha = alpha
    >>> M(by="channel").set_params(alpha=0.01).get_params()
    {'alpha': 0.01, 'by': 'channel'}
    >>> M(by="channel")
    M(by='channel')
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters and their values (``deep`` is accepted for sklearn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> ParamsMixin:
        """Set constructor parameters; an unknown name is a ValueError."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"invalid parameter {name!r} for {type(self).__name__}; valid: {sorted(valid)}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        changed = [
            f"{name}={getattr(self, name)!r}"
            for name, p in sig.parameters.items()
            if name != "self"
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            and not _same(getattr(self, name), p.default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


def _same(a, b) -> bool:
    try:
        return bool(a is b or a == b)
    except (TypeError, ValueError):
        return False
