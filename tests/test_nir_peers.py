"""snn.nir beside the NIR exporters and importers of snnTorch and SpikingJelly: graphs they
write import here and spike as they do; graphs written here import into snnTorch and spike
as the snnsim model does."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest
import torch

import snn.nir as sn
from snn.layers import LIF

snntorch = pytest.importorskip("snntorch", reason="snnTorch comes with the 'test' extra")
pytest.importorskip("nirtorch", reason="snnTorch's NIR export and import need nirtorch")


@contextlib.contextmanager
def _quiet():
    """The peers print and warn while they convert; keep the test output readable."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _leaky(n: int, beta: float, **kwargs):
    # reset_mechanism="zero" with reset_delay=False is snnTorch's form of NIR's reset to
    # v_reset = 0 on the step of the spike (its defaults subtract, one step later).
    return snntorch.Leaky(beta=torch.full((n,), beta), threshold=torch.ones(n),
                          init_hidden=True, reset_mechanism="zero", reset_delay=False, **kwargs)


def _run_snntorch(net, x: torch.Tensor) -> np.ndarray:
    from snntorch import utils

    utils.reset(net)
    out = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            result = net(x[t])
            out.append(result[0] if isinstance(result, tuple) else result)
    return torch.stack(out)[:, 0].numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_snntorch_feedforward_export_imports_and_spikes_alike(seed):
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(seed)
    syn = snntorch.Synaptic(alpha=torch.full((3,), 0.8), beta=torch.full((3,), 0.7),
                            threshold=torch.ones(3), init_hidden=True, reset_mechanism="zero",
                            reset_delay=False, output=True)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), _leaky(8, 0.9), torch.nn.Linear(8, 3), syn)
    with _quiet():
        graph = export_to_nir(net, torch.zeros(5))
    x = 2.0 * (torch.rand(60, 1, 5) < 0.3).float()
    want = _run_snntorch(net, x)
    assert want.sum() > 5
    module = sn.from_nir(graph, dt=1e-4, target="torch")
    with torch.no_grad():
        got = module(x.double())[:, 0].numpy()
    np.testing.assert_array_equal(got, want)
    engine = sn.simulate(graph, x[:, 0].numpy(), dt=1e-4)
    np.testing.assert_array_equal(engine["output"], want)
    # snnsim's export of the imported model goes back into snnTorch and spikes as ours.
    from snntorch.import_nir import import_from_nir

    with _quiet():
        peer = import_from_nir(sn.to_nir(module, dt=1e-4))
    state, out = None, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            spikes, state = peer(x[t], state)
            out.append(spikes)
    np.testing.assert_array_equal(torch.stack(out)[:, 0].numpy(), got)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_snntorch_recurrent_subgraph_imports_and_spikes_alike(seed):
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(seed)
    rleaky = snntorch.RLeaky(beta=torch.full((6,), 0.9), threshold=torch.ones(6),
                             linear_features=6, init_hidden=True, reset_mechanism="zero",
                             reset_delay=False, output=True)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), rleaky)
    with _quiet():
        graph = export_to_nir(net, torch.zeros(4))
    x = (torch.rand(50, 1, 4) < 0.4).float()
    want = _run_snntorch(net, x)
    assert want.sum() > 5
    module = sn.from_nir(graph, dt=1e-4, target="torch")
    assert module.flat.recurrent  # the w_rec edge closes a cycle
    with torch.no_grad():
        got = module(x.double())[:, 0].numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(sn.simulate(graph, x[:, 0].numpy(), dt=1e-4)["output"], want)
    # snnsim -> file -> snnsim keeps the cycle.
    back = sn.from_nir(sn.to_nir(module, dt=1e-4), dt=1e-4, target="torch")
    with torch.no_grad():
        np.testing.assert_array_equal(back(x.double())[:, 0].numpy(), want)


def test_snnsim_export_imports_into_snntorch_and_spikes_alike():
    from snntorch.import_nir import import_from_nir

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 6, dtype=torch.float64),
        LIF(6, beta=0.875, threshold=1.0, reset="value"),
        torch.nn.Linear(6, 3, dtype=torch.float64),
        LIF(3, beta=0.75, threshold=1.0, reset="value"),
    )
    with torch.no_grad():
        model[0].weight.mul_(3.0)
        model[2].weight.mul_(3.0)
    # snnTorch's importer assumes dt = 1e-4 s.
    graph = sn.to_nir(model, dt=1e-4)
    with _quiet():
        peer = import_from_nir(graph)
    x = (torch.rand(40, 1, 4) < 0.4).double()
    with torch.no_grad():
        want = model(x)[:, 0].numpy()
        state, out = None, []
        for t in range(x.shape[0]):
            spikes, state = peer(x[t].float(), state)
            out.append(spikes)
    assert want.sum() > 5
    np.testing.assert_array_equal(torch.stack(out)[:, 0].numpy(), want)


def test_spikingjelly_export_imports_and_spikes_alike():
    pytest.importorskip("spikingjelly", reason="SpikingJelly is installed by .ci/venv.sh "
                        "(pip install --no-deps spikingjelly)")
    from spikingjelly.activation_based import functional, layer, neuron
    from spikingjelly.activation_based.nir_exchange.to_nir import export_to_nir

    torch.manual_seed(1)
    net = torch.nn.Sequential(
        layer.Linear(4, 6), neuron.LIFNode(tau=2.0, decay_input=True, v_reset=0.0),
        layer.Linear(6, 3), neuron.IFNode(v_reset=0.0))
    functional.set_step_mode(net, "m")
    net = net.double()
    with torch.no_grad():
        net[0].weight.mul_(4.0)
        net[2].weight.mul_(4.0)
    x = 2.0 * (torch.rand(50, 1, 4) < 0.5).double()
    with torch.no_grad():
        want = net(x)[:, 0].numpy()
    functional.reset_net(net)
    with _quiet():
        graph = export_to_nir(net, x, dt=1e-3)
    assert want.sum() > 5
    # SpikingJelly writes IF as the NIR equation reads it (r = 1 / dt).
    module = sn.from_nir(graph, dt=1e-3, target="torch", integrator_input="continuous")
    with torch.no_grad():
        got = module(x)[:, 0].numpy()
    np.testing.assert_array_equal(got, want)
    engine = sn.simulate(graph, x[:, 0].numpy(), dt=1e-3, integrator_input="continuous")
    np.testing.assert_array_equal(engine[module.flat.outputs[0]], want)


def test_spikingjelly_runs_the_paper_cnn_as_snnsim_does():
    """SpikingJelly's importer reads IF.r as 1 / dt; the Sinabs file means one step per unit
    of r, so it imports with dt = 1 s: the same network."""
    import os
    from pathlib import Path

    pytest.importorskip("spikingjelly", reason="SpikingJelly is installed by .ci/venv.sh "
                        "(pip install --no-deps spikingjelly)")
    from spikingjelly.activation_based import functional
    from spikingjelly.activation_based.nir_exchange.from_nir import import_from_nir

    data = Path(os.environ.get("SNNSIM_NIR_DATA", Path(__file__).resolve().parents[1] / ".."
                               / "shared" / "data" / "nir"))
    if not (data / "cnn_sinabs.nir").is_file():
        pytest.skip(f"cnn_sinabs.nir not found in {data}: set $SNNSIM_NIR_DATA")
    import nir

    graph = nir.read(data / "cnn_sinabs.nir")
    x = (torch.rand(12, 2, 2, 34, 34, generator=torch.Generator().manual_seed(0)) < 0.1).float()
    with _quiet():
        peer = import_from_nir(graph, dt=1.0)
    functional.set_step_mode(peer, "s")
    state, want = None, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            out, state = peer(x[t], state)
            want.append(out)
    want = torch.stack(want).numpy()
    module = sn.from_nir(graph, dt=1e-3, target="torch").float()
    with torch.no_grad():
        got = module(x).numpy()
    assert want.sum() > 0
    np.testing.assert_array_equal(got, want)
