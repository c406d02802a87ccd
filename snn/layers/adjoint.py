"""The adjoint of one step of the fused LIF op, written once for the torch specification
(:mod:`snn.layers.functional`) and the numba kernels (:mod:`snn.layers.cpu_kernels`).

For one neuron at step ``t``, with ``u`` the free membrane, ``theta`` the threshold,
``s = H(u - theta)`` and the carries ``g_v = dL/dv_t`` and ``g_a = dL/da_t`` from step
``t + 1`` (see the module docstring of :mod:`snn.layers.functional`)::

    g_s     = dL/ds_t + delta * g_a + keep_reset * g_v * dv_t/ds_t
    dz      = g_s * sigma'(u - theta)
    g_u     = dz + g_v * dv_t/du_t
    g_theta = -dz + g_v * dv_t/dtheta_t

where ``v_t`` is :func:`snn.models.reset_membrane` of ``u``.
"""

from __future__ import annotations

from typing import Any

from numba.extending import register_jitable

__all__ = ["lif_adjoint"]


@register_jitable(inline="always")
def lif_adjoint(spike: Any, surrogate_grad: Any, u: Any, theta: Any, grad_spike: Any,
                grad_v: Any, grad_a: Any, v_reset: Any, subtract: Any, keep_value: Any,
                threshold_increment: Any, keep_reset: Any, one: Any) -> tuple[Any, Any]:
    """Gradients of the free membrane and of the threshold at one step.

    Args:
        spike: the forward pass's spike ``H(u - theta)`` (0 or 1).
        surrogate_grad: the surrogate's pseudo-derivative at ``u - theta``.
        u, theta: free membrane and threshold of the step.
        grad_spike: dL/dspike of the step (from the layers above).
        grad_v, grad_a: dL/d(membrane) and dL/d(threshold offset) after the step.
        v_reset: reset potential; ``subtract`` 1 for reset by subtraction, else 0, and
            ``keep_value = 1 - subtract``.
        threshold_increment: threshold rise per spike.
        keep_reset: 1 to propagate through the reset, 0 to detach it.
        one: 1 in the dtype to compute in.

    Returns:
        ``(dL/du, dL/dtheta)`` of the step.  Scalars, arrays or tensors alike.
    """
    dv_dspike = subtract * (v_reset - theta) + keep_value * (v_reset - u)
    g_spike = grad_spike + grad_a * threshold_increment + keep_reset * grad_v * dv_dspike
    dz = g_spike * surrogate_grad
    du = dz + grad_v * (subtract + keep_value * (one - spike))
    dtheta = -dz - grad_v * subtract * spike
    return du, dtheta
