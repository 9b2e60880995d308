"""Moved to :mod:`jido.state_ops` (below the action layer, whose results may carry state operations); kept so
imports keep working."""

from jido.state_ops import DeleteKeys, DeletePath, ReplaceState, SetPath, SetState, StateOp

__all__ = ["DeleteKeys", "DeletePath", "ReplaceState", "SetPath", "SetState", "StateOp"]
