"""The conformance checks, one module per group; importing this package registers them all.

Example:
    >>> import qtcore_conformance.checks
    >>> from qtcore_conformance.catalog import CHECKS
    >>> CHECKS["bit_order_one_hot_probes"].group
    'bit order and batches'
"""

from qtcore_conformance.checks import (  # noqa: F401  (imported to register the checks)
    amplitude_encoding,
    bit_order,
    gate_ir,
    mitigators,
    noise,
    output_contract,
    registration,
    reproducibility,
    robustness,
    samplers,
)
