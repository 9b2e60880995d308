"""The attribute under which a compiled spec is attached to a user's class.

The DSL sets it; the core reads it. Keeping the name here lets ``jido`` accept decorated classes without
importing ``dsl`` (the DSL depends on the core, never the reverse).
"""

from typing import Final

SPEC_ATTR: Final = "__jido_spec__"
