"""Continual learning: HLOP's Hebbian subspaces against exact PCA, projected updates (BPTT
and the online trace method) leave old inputs' responses unchanged, the online method's
forward pass is the fused layers', ACC / BWT, every method end to end, the command line and
the demo section, and bad input."""

import argparse
import json
import math

import numpy as np
import pytest
import torch

from snn.cli import main
from snn.cli.train_continual import add_parser
from snn.continual import (
    METHODS,
    ContinualConfig,
    HebbianSubspace,
    PCASubspace,
    ProjectedOptimizer,
    SpikingMLP,
    continual_metrics,
    run_continual,
)
from snn.data import Task, permuted_digits_tasks


def _small(tasks, n_train=200, n_test=100):
    return [Task(t.name, t.x_train[:n_train], t.y_train[:n_train], t.x_test[:n_test],
                 t.y_test[:n_test], t.classes) for t in tasks]


def _low_rank_data(rng, n=600, dim=20, rank=4):
    basis, _ = np.linalg.qr(rng.standard_normal((dim, rank)))
    return torch.from_numpy(rng.standard_normal((n, rank)) * [3, 2, 1.5, 1] @ basis.T), basis


def test_metrics_follow_gem_definitions():
    r = np.array([[90.0, 10, 10], [70, 80, 10], [60, 75, 85]])
    acc, bwt = continual_metrics(r)
    assert acc == pytest.approx((60 + 75 + 85) / 3)
    assert bwt == pytest.approx(((60 - 90) + (75 - 80)) / 2)
    assert math.isnan(continual_metrics(np.array([[50.0]]))[1])
    with pytest.raises(ValueError, match="square matrix"):
        continual_metrics(np.ones((2, 3)))


def test_hebbian_subspace_learns_the_principal_subspace_like_pca():
    rng = np.random.default_rng(0)
    x, basis = _low_rank_data(rng)
    hebb = HebbianSubspace(20, rng=torch.Generator().manual_seed(1))
    pca = PCASubspace(20)
    for s in (hebb, pca):
        s.grow(4)
        for _ in range(3):
            for batch in torch.split(x, 32):
                s.observe(batch)
        s.consolidate()
        assert s.size == 4
        h = s.frozen.numpy()
        np.testing.assert_allclose(h.T @ h, basis @ basis.T, atol=0.02)
        assert s.captured(x) > 0.999
    # Growth: the next components learn what the frozen ones miss.
    extra = torch.from_numpy(rng.standard_normal((600, 20)))
    hebb.grow(3)
    for _ in range(5):
        for batch in torch.split(torch.cat([x, extra]), 32):
            hebb.observe(batch)
    hebb.consolidate()
    h = hebb.frozen.numpy()
    np.testing.assert_allclose(h @ h.T, np.eye(7), atol=0.05)
    np.testing.assert_allclose(h[:4].T @ h[:4], basis @ basis.T, atol=0.02)   # unchanged


def test_hebbian_rows_converge_to_an_orthonormal_basis_of_the_top_subspace():
    # Known covariance: eigenvalues 4, 3, 2, 1.5 (kept) then 0.5, 0.3 (left out), rank 6 of 20.
    rng = np.random.default_rng(5)
    basis, _ = np.linalg.qr(rng.standard_normal((20, 6)))
    z = rng.standard_normal((2000, 6))
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z.T, bias=True))).T     # white exactly
    x = torch.from_numpy(z * np.sqrt([4, 3, 2, 1.5, 0.5, 0.3]) @ basis.T)
    hebb = HebbianSubspace(20, lr=0.5, iterations=1, rng=torch.Generator().manual_seed(2))
    hebb.grow(4)
    start = hebb.learning.clone()
    np.testing.assert_allclose(start @ start.T, np.eye(4), atol=1e-12)   # orthonormal start
    for _ in range(600):
        hebb.observe(x)
    hebb.consolidate()
    h = hebb.frozen
    assert float(torch.linalg.norm(h @ h.T - torch.eye(4, dtype=torch.float64))) < 1e-3
    top = basis[:, :4]
    np.testing.assert_allclose(h.numpy().T @ h.numpy(), top @ top.T, atol=1e-3)
    # The projection then removes > 99.9 % of a gradient lying in the old subspace.
    g = torch.from_numpy(rng.standard_normal((7, 4)) @ top.T)
    assert float(hebb.project(g).norm() / g.norm()) < 1e-3
    # New neurons start orthonormal and orthogonal to the frozen ones, and learn the rest.
    hebb.grow(2)
    both = torch.cat([h, hebb.learning])
    np.testing.assert_allclose(both @ both.T, np.eye(6), atol=1e-12)
    for _ in range(1500):
        hebb.observe(x)
    hebb.consolidate()
    _assert_orthonormal_basis_of(hebb.frozen.numpy(), basis)


def _assert_orthonormal_basis_of(h, basis, atol=1e-3):
    """The rows of ``h`` are orthonormal and span the columns of ``basis``."""
    np.testing.assert_allclose(h @ h.T, np.eye(h.shape[0]), atol=atol)
    np.testing.assert_allclose(h.T @ h, basis @ basis.T, atol=atol)


def test_hebbian_momentum_converges_to_the_same_subspace():
    rng = np.random.default_rng(6)
    x, basis = _low_rank_data(rng)
    plain = HebbianSubspace(20, lr=0.5, iterations=1, rng=torch.Generator().manual_seed(3))
    heavy = HebbianSubspace(20, lr=0.5, iterations=1, rng=torch.Generator().manual_seed(3),
                            momentum=0.9)
    for s in (plain, heavy):
        s.grow(4)
        for _ in range(400):
            s.observe(x)
        s.consolidate()
        _assert_orthonormal_basis_of(s.frozen.numpy(), basis)
    with pytest.raises(ValueError, match="momentum must be in"):
        HebbianSubspace(20, momentum=1.0)


def test_per_step_activity_is_what_the_bptt_gradient_is_built_from():
    model = SpikingMLP(6, [10], 3, rng=1).double()
    x = (torch.rand(7, 4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
         < 0.4).double()
    _, means = model(x, return_inputs=True)
    _, steps = model(x, return_inputs=True, per_step=True)
    assert [s.shape for s in steps] == [(28, 6), (28, 10)]
    for m, s in zip(means, steps):
        torch.testing.assert_close(s.reshape(7, 4, -1).mean(0), m)
    # The first layer's weight gradient lies in the span of the per-step inputs.
    model.zero_grad()
    model(x).sum().backward()
    g = model.linears[0].weight.grad
    q, _ = torch.linalg.qr(steps[0].T)
    torch.testing.assert_close(g @ q @ q.T, g)
    # Online: per-step presynaptic traces, [T * B, in].
    mask = torch.ones(4, 3, dtype=torch.bool)
    _, traces = model.online_loss(x, mask, torch.tensor([0, 1, 2, 1]), per_step=True)
    assert [t.shape for t in traces] == [(28, 6), (28, 10)]
    torch.testing.assert_close(traces[0][:4], x[0])
    torch.testing.assert_close(traces[0][4:8], model.beta * x[0] + x[1])


@pytest.mark.parametrize("activity", ["mean", "step"])
def test_hlop_consolidates_orthonormal_rows_in_a_run(activity):
    tasks = _small(permuted_digits_tasks(3, rng=0), 200, 50)
    config = ContinualConfig(method="hlop", hidden=(24,), epochs=1, n_steps=5,
                             components=(6, 5), subspace_activity=activity, seed=0)
    result = run_continual(tasks, config)
    assert result.subspace_sizes == [18, 15]
    for s in result.subspaces:
        h = s.frozen
        assert float(torch.linalg.norm(h @ h.T - torch.eye(h.shape[0], dtype=h.dtype))) < 0.05


def test_subspace_larger_than_the_layer_is_refused():
    s = HebbianSubspace(5)
    s.grow(3)
    with pytest.raises(ValueError, match="exceed the layer's input width 5"):
        s.grow(3)
    p = PCASubspace(5)
    with pytest.raises(ValueError, match="input width 5"):
        p.grow(6)
    with pytest.raises(ValueError, match=r"x must be a tensor \[B, 5\]"):
        s.observe(torch.ones(2, 4))


def test_pca_components_stay_orthonormal_when_a_task_spans_fewer_dimensions_than_k():
    rng = np.random.default_rng(5)
    pca = PCASubspace(16)
    for _ in range(3):
        # Each task's activity spans 2 dimensions; 4 components are added per task.
        directions = rng.standard_normal((2, 16))
        pca.grow(4)
        pca.observe(torch.from_numpy(rng.standard_normal((200, 2)) @ directions))
        pca.consolidate()
    h = pca.frozen
    assert h.shape == (12, 16)
    assert torch.allclose(h @ h.T, torch.eye(12, dtype=h.dtype), atol=1e-10)


def test_projected_optimizer_keeps_updates_orthogonal_to_the_subspace():
    rng = np.random.default_rng(2)
    x, basis = _low_rank_data(rng, dim=12)
    pca = PCASubspace(12)
    pca.grow(4)
    pca.observe(x)
    pca.consolidate()
    layer = torch.nn.Linear(12, 3, bias=False).double()
    before = layer.weight.detach().clone()
    opt = ProjectedOptimizer(torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9),
                             [(layer.weight, pca)])
    for _ in range(5):
        opt.zero_grad()
        layer(torch.randn(8, 12, dtype=torch.float64)).pow(2).sum().backward()
        opt.step()
    change = (layer.weight.detach() - before).numpy()
    assert np.abs(change).max() > 1e-2
    np.testing.assert_allclose(change @ basis, 0, atol=1e-12)
    # Responses to inputs in the old subspace are unchanged.
    np.testing.assert_allclose(layer(x).detach(), x @ before.T, atol=1e-10)


def test_online_forward_is_the_fused_network_and_its_gradient_uses_projected_traces():
    torch.manual_seed(0)
    model = SpikingMLP(6, [10], 3, beta=0.8, threshold=0.5, rng=3).double()
    x = (torch.rand(7, 4, 6, dtype=torch.float64) < 0.4).double()
    y = torch.tensor([0, 1, 2, 1])
    mask = torch.ones(4, 3, dtype=torch.bool)
    loss, inputs = model.online_loss(x, mask, y)
    # The same network unrolled by the fused LIF op: per-step outputs, the same loss.
    hidden = model.lifs[0](model.linears[0](x))
    per_step = model.linears[1](hidden)
    expected = sum(torch.nn.functional.cross_entropy(per_step[t], y) for t in range(7)) / 7
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-12)
    torch.testing.assert_close(inputs[1], hidden.mean(0))
    # With one step the trace is the input: the gradient is autograd's.
    loss1, _ = model.online_loss(x[:1], mask, y)
    grads = torch.autograd.grad(loss1, [lin.weight for lin in model.linears])
    ref = torch.nn.functional.cross_entropy(model(x[:1]), y)
    torch.testing.assert_close(grads, torch.autograd.grad(ref, [lin.weight for lin in
                                                               model.linears]))
    # With subspaces, the weight gradients have no component inside them.
    subspaces = [PCASubspace(6), PCASubspace(10)]
    for s, act in zip(subspaces, inputs):
        s.grow(2)
        s.observe(act)
        s.consolidate()
    model.zero_grad()
    model.online_loss(x, mask, y, subspaces)[0].backward()
    for lin, s in zip(model.linears, subspaces):
        assert lin.weight.grad.abs().max() > 0
        torch.testing.assert_close(lin.weight.grad @ s.frozen.T, torch.zeros(lin.out_features, 2,
                                   dtype=torch.float64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("training", ["bptt", "online"])
def test_hlop_pca_keeps_first_layer_responses_to_old_low_rank_inputs(training):
    # Inputs of rank 8 (+ mean): 10 components per task cover the first layer's input span.
    tasks = _small(permuted_digits_tasks(2, rng=0, rank=8), 150, 50)
    config = ContinualConfig(method="hlop-pca", training=training, hidden=(32,), epochs=1,
                             n_steps=5, encoding="current", components=(10, 8), seed=0)
    result = run_continual(tasks, config)
    assert result.subspace_sizes == [20, 16]
    old = torch.from_numpy(tasks[0].x_test)
    w_end = result.model.linears[0].weight.detach()
    # Rebuild the weights after task 0 by running task 0 alone with the same seed.
    first = run_continual(tasks[:1], ContinualConfig(**{**config.__dict__, "components":
                                                         (10, 8)}))
    w_first = first.model.linears[0].weight.detach()
    assert (w_end - w_first).abs().max() > 1e-3
    torch.testing.assert_close(old @ w_end.T, old @ w_first.T, atol=1e-4, rtol=0)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_and_fills_the_accuracy_matrix(method):
    tasks = _small(permuted_digits_tasks(2, rng=1), 300, 100)
    result = run_continual(tasks, ContinualConfig(method=method, hidden=(32,), epochs=5,
                                                  n_steps=8, components=(10, 8),
                                                  fisher_samples=20, seed=1))
    r = result.accuracy
    assert r.shape == (2, 2)
    assert np.all(np.isfinite(r[-1])) and r[-1, 1] > 50       # learns the last task
    if method == "multitask":
        assert np.isnan(r[0]).all() and math.isnan(result.bwt)
    else:
        assert np.isfinite(r).all() and result.bwt == pytest.approx(r[1, 0] - r[0, 0])
    assert result.acc == pytest.approx(r[-1].mean())
    json.dumps(result.to_dict())


def test_runs_are_reproducible_from_the_seed():
    tasks = _small(permuted_digits_tasks(2, rng=0), 100, 50)
    config = ContinualConfig(method="hlop", hidden=(16,), epochs=1, n_steps=5, seed=4)
    a, b = run_continual(tasks, config), run_continual(tasks, config)
    np.testing.assert_array_equal(a.accuracy, b.accuracy)


def test_bad_input_is_refused_before_training():
    tasks = _small(permuted_digits_tasks(2, rng=0), 50, 20)
    with pytest.raises(ValueError, match="tasks must not be empty"):
        run_continual([])
    other = Task("narrow", tasks[1].x_train[:, :32], tasks[1].y_train, tasks[1].x_test[:, :32],
                 tasks[1].y_test, tasks[1].classes)
    with pytest.raises(ValueError, match="same input size"):
        run_continual([tasks[0], other])
    with pytest.raises(ValueError, match="larger than the layer's input width 64"):
        run_continual(tasks, ContinualConfig(components=(40, 4)))
    with pytest.raises(ValueError, match="components must be a tuple of 2"):
        ContinualConfig(components=(4,))
    with pytest.raises(ValueError, match="method must be one of"):
        ContinualConfig(method="lwf")
    with pytest.raises(ValueError, match="subspace_activity must be one of"):
        ContinualConfig(subspace_activity="rate")
    with pytest.raises(ValueError, match="hebbian_anneal must be <= 1"):
        ContinualConfig(hebbian_anneal=2.0)
    with pytest.raises(ValueError, match="hebbian_anneal must be > 0"):
        ContinualConfig(hebbian_anneal=0.0)
    with pytest.raises(ValueError, match="hebbian_momentum must be in"):
        ContinualConfig(hebbian_momentum=1.0)
    with pytest.raises(TypeError, match="tasks\\[0\\] must be an snn.data.Task"):
        run_continual([np.zeros(3)])


def _parser():
    parser = argparse.ArgumentParser(prog="snn")
    sub = parser.add_subparsers(dest="command")
    train = sub.add_parser("train").add_subparsers(dest="what")
    add_parser(train)
    return parser


def test_train_continual_command(tmp_path, capsys):
    args = _parser().parse_args(
        ["train", "continual", "--method", "hlop", "--data", "split-digits", "--epochs", "1",
         "--hidden", "16", "--steps", "5", "--components", "4,3", "--out", str(tmp_path),
         "--no-progress"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "split-digits: 5 tasks" in out and "hlop (bptt): ACC" in out
    saved = json.loads((tmp_path / "results.json").read_text())
    assert len(saved["hlop"]["accuracy"]) == 5 and saved["hlop"]["subspace_sizes"] == [20, 15]
    with pytest.raises(SystemExit):
        _parser().parse_args(["train", "continual", "--components", "a,b"])
    with pytest.raises(ValueError, match="--root"):
        args = _parser().parse_args(["train", "continual", "--data", "pmnist"])
        args.func(args)


def test_demo_section_prints_a_table_and_saves_a_plot(tmp_path, capsys):
    assert main(["demo", "--sections", "continual", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "== continual" in out and "finetune" in out and "hlop" in out
    assert (tmp_path / "continual_accuracy.png").stat().st_size > 0
