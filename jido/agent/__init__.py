"""The pure agent core: agent specs and values, cmd, directives, state operations, strategies (FSM, workflow).

Nothing here runs tasks or touches I/O: the runtime (``jido.runtime``) carries out what these return.
"""
