"""Declaring one membrane model with every synapse kind."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ..neuron_model import NeuronModel, StateVariable, define_model, register_params
from ..synapses import (
    AlphaConductanceSynapses,
    AlphaCurrentSynapses,
    ConductanceSynapses,
    CurrentSynapses,
    SynapseCoeffs,
    synapse_coeffs,
    synapse_inputs,
    synapse_state,
)

KINDS = (CurrentSynapses, ConductanceSynapses, AlphaCurrentSynapses, AlphaConductanceSynapses)
_SUFFIX = {CurrentSynapses: "", ConductanceSynapses: "Conductance",
           AlphaCurrentSynapses: "AlphaCurrent", AlphaConductanceSynapses: "AlphaConductance"}


def with_synapses(coeff_type: type, membrane: NamedTuple, synapses: Any, dt: float) -> tuple:
    """A model's coefficient tuple: its membrane coefficients, then the synapse kind's."""
    return coeff_type(*membrane, *synapse_coeffs(synapses, dt))


def coeff_type(name: str, membrane_fields: Sequence[str]) -> type:
    """A NamedTuple of floats with the membrane fields, then those of SynapseCoeffs."""
    return NamedTuple(name, [(f, float) for f in (*membrane_fields, *SynapseCoeffs._fields)])


def declare_family(name: str, params_type: type, membrane: Sequence[StateVariable],
                   coeffs: Callable[[Any, float], tuple], step: Callable, work: float,
                   source: str) -> dict[type, NeuronModel]:
    """One model per synapse kind (state: the membrane variables, then the kind's), and
    ``model_of(params)`` choosing by ``params.synapses``."""
    family = {}
    for kind in KINDS:
        variables = tuple(membrane) + tuple(StateVariable(n, u) for n, u in
                                            synapse_state(kind()))
        family[kind] = define_model(f"{name}{_SUFFIX[kind]}", params_type, state=variables,
                                    coeffs=coeffs, step=step, inputs=synapse_inputs(kind()),
                                    work=work, source=source, register=False)
    register_params(params_type, lambda params: family[type(params.synapses)])
    return family
