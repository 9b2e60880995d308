"""Signals: CloudEvents 1.0 events, their JSON form, typed signals, and routing by type."""

from jido.signal.ids import id_time as id_time
from jido.signal.ids import new_id as new_id
from jido.signal.serialization import DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES
from jido.signal.signal import CORE_ATTRIBUTES as CORE_ATTRIBUTES
from jido.signal.signal import EXTENSION_NAME_PATTERN as EXTENSION_NAME_PATTERN
from jido.signal.signal import MAX_DATA_DEPTH as MAX_DATA_DEPTH
from jido.signal.signal import SPECVERSION as SPECVERSION
from jido.signal.signal import TYPE_PATTERN as TYPE_PATTERN
from jido.signal.signal import TYPE_SEGMENT_PATTERN as TYPE_SEGMENT_PATTERN
from jido.signal.signal import Extensions as Extensions
from jido.signal.signal import ExtensionValue as ExtensionValue
from jido.signal.signal import Signal as Signal
from jido.signal.signal import type_problem as type_problem
from jido.signal.signal import validate_type as validate_type
from jido.signal.typed import SignalType as SignalType
from jido.signal.typed import typed_signal as typed_signal
