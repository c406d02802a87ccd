"""``snn nir info`` and ``snn nir convert``."""

from __future__ import annotations

import re

import nir
import numpy as np
import pytest
import torch

import snn.nir as sn
from snn.cli import main
from snn.layers import LIF, DelayNetwork, DelayNetworkConfig


def _graph(tmp_path, *, weight_cols: int = 3):
    nodes = {"input": nir.Input(input_type={"input": np.array([3])}),
             "lin": nir.Linear(weight=np.ones((2, weight_cols))),
             "lif": nir.LIF(tau=np.full(2, 1e-2), r=np.ones(2), v_leak=np.zeros(2),
                            v_threshold=np.ones(2), v_reset=np.zeros(2)),
             "out": nir.Output(output_type={"output": np.array([2])})}
    graph = nir.NIRGraph(nodes=nodes, edges=[("input", "lin"), ("lin", "lif"), ("lif", "out")],
                         type_check=False)
    path = tmp_path / "g.nir"
    nir.write(path, graph)
    return path


def test_info_prints_nodes_shapes_and_edges(tmp_path, capsys):
    assert main(["nir", "info", str(_graph(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert re.search(r"lin +Linear +\[3\] -> \[2\]", out)
    assert re.search(r"lif +LIF +\[2\] -> \[2\] +tau=\[0.01, 0.01\]", out)
    assert "input -> lin" in out and "lif -> out" in out


@pytest.mark.parametrize("case, message", [
    ("missing", "no NIR file"),
    ("shape", "shape mismatch along edge ('input' -> 'lin')"),
])
def test_info_refuses_bad_files_with_a_message(tmp_path, capsys, case, message):
    path = tmp_path / "missing.nir" if case == "missing" else _graph(tmp_path, weight_cols=4)
    assert main(["nir", "info", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_unsupported_node_type_is_named_with_the_supported_list(tmp_path):
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}),
                                "out": nir.Output(output_type={"output": np.array([3])})},
                         edges=[("input", "out")], type_check=False)

    class Spiral(nir.Linear):
        pass

    graph.nodes["odd"] = Spiral(weight=np.ones((3, 3)))
    graph.edges = [("input", "odd"), ("odd", "out")]
    with pytest.raises(ValueError, match="'odd' has type Spiral.*supported node types: Input, "
                                         "Output, Affine"):
        sn.from_nir(graph, dt=1e-3)


def test_convert_exports_a_saved_model(tmp_path, capsys):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2, dtype=torch.float64),
                                LIF(2, beta=0.9, reset="value"))
    torch.save(model, tmp_path / "model.pt")
    out = tmp_path / "model.nir"
    assert main(["nir", "convert", str(tmp_path / "model.pt"), str(out), "--dt", "1e-3"]) == 0
    assert "wrote" in capsys.readouterr().out
    back = sn.load(out, dt=1e-3, target="torch")
    x = torch.rand(20, 1, 3, dtype=torch.float64) * 2
    with torch.no_grad():
        torch.testing.assert_close(back(x), model(x), rtol=0, atol=0)


def test_convert_reads_a_delay_training_checkpoint(tmp_path, capsys):
    config = DelayNetworkConfig(n_inputs=4, n_hidden=3, n_outputs=2, n_hidden_layers=1,
                                dt=1e-3, max_delay=3e-3)
    model = DelayNetwork(config, rng=0)
    torch.save({"model": model.state_dict(), "model_config": config.to_dict()},
               tmp_path / "checkpoint.pt")
    out = tmp_path / "delays.nir"
    assert main(["nir", "convert", str(tmp_path / "checkpoint.pt"), str(out)]) == 0
    graph = nir.read(out, type_check=False)
    assert graph.metadata["snnsim"]["dt"] == pytest.approx(1e-3)


@pytest.mark.parametrize("argv, message", [
    (["--dt", "0"], "dt must be > 0"),
    (["--dt", "1e-3", "--discretisation", "rk4"], "discretisation"),
])
def test_convert_refuses_bad_options(tmp_path, capsys, argv, message):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), LIF(2))
    torch.save(model, tmp_path / "model.pt")
    assert main(["nir", "convert", str(tmp_path / "model.pt"), str(tmp_path / "m.nir"),
                 *argv]) == 2
    assert message in capsys.readouterr().err


def test_convert_refuses_a_missing_model(tmp_path, capsys):
    assert main(["nir", "convert", str(tmp_path / "none.pt"), str(tmp_path / "m.nir"),
                 "--dt", "1e-3"]) == 2
    assert "no file" in capsys.readouterr().err


def test_convert_exports_a_saved_engine_network(tmp_path, capsys):
    import snn

    net = snn.Network(dt=1e-4)
    net.add_spike_source("input", 2, [0, 1], [0.0, 1e-3])
    net.add_population("a", 2, snn.LIFParams(tau_refractory=0.0, synapses=snn.DeltaSynapses()))
    net.connect("input", "a", np.full((2, 2), 0.02), delays=1e-3)
    torch.save(net, tmp_path / "net.pt")
    assert main(["nir", "convert", str(tmp_path / "net.pt"), str(tmp_path / "net.nir")]) == 0
    back = sn.load(tmp_path / "net.nir", dt=1e-4)
    assert back.populations["a"].params == net.populations["a"].params
    assert back.projections[0].delay_steps.tolist() == [10] * 4
