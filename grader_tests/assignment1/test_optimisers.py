"""The hand-written optimisers and weight decay of part 1's section 11 compute what PyTorch computes: the
reference solution against torch.optim on the same parameters and the same sequence of gradients (float64),
so that the notebook's claim "this is torch.optim.SGD / Adam" holds and the hidden tests, which compare a
student's code with these formulas, compare it with PyTorch's."""
from __future__ import annotations

import types

import numpy as np
import pytest
import torch

from gradekit.authoring.reference import load_reference
from grader_tests.helpers import ASSIGNMENT, ROOT

REF = load_reference(ROOT, ASSIGNMENT, "1_mlp_numpy")
SHAPES = [(4, 3), (3, 2)]


def stand_in(rng):
    """Two LinearModules (with a ReLU between) whose parameters the test sets."""
    layers = []
    for d_in, d_out in SHAPES:
        layer = REF["LinearModule"](d_in, d_out, np.random.default_rng(0))
        layer.params = {"weight": rng.normal(size=(d_in, d_out)), "bias": rng.normal(size=d_out)}
        layers += [layer, REF["ReLUModule"]()]
    return types.SimpleNamespace(layers=layers[:-1])


def linear(model):
    return [layer for layer in model.layers if hasattr(layer, "params")]


def compare_with_torch(ours, make_torch_optimizer, seed, steps=8):
    rng = np.random.default_rng(seed)
    model = stand_in(rng)
    tensors = [torch.tensor(layer.params[k], dtype=torch.float64, requires_grad=True)
               for layer in linear(model) for k in ("weight", "bias")]
    theirs = make_torch_optimizer(tensors)
    worst = 0.0
    for _ in range(steps):
        scale = 10.0 ** rng.uniform(-5, 1)
        grads = [scale * rng.normal(size=t.shape) for t in tensors]
        for layer, (gw, gb) in zip(linear(model), zip(grads[::2], grads[1::2])):
            layer.grads = {"weight": gw, "bias": gb}
        for t, g in zip(tensors, grads):
            t.grad = torch.tensor(g, dtype=torch.float64)
        ours.step(model)
        theirs.step()
        mine = [layer.params[k] for layer in linear(model) for k in ("weight", "bias")]
        worst = max(worst, max(float(np.max(np.abs(a - t.detach().numpy()) / (1e-12 + np.abs(a))))
                               for a, t in zip(mine, tensors)))
    return worst


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_momentum_is_torch_sgd_with_momentum(seed):
    lr, mu = [(0.1, 0.9), (0.02, 0.5), (0.3, 0.99)][seed]
    worst = compare_with_torch(REF["SGDMomentum"](lr=lr, momentum=mu),
                               lambda p: torch.optim.SGD(p, lr=lr, momentum=mu), seed)
    print(f"SGD momentum lr={lr} mu={mu}: largest relative difference to torch {worst:.1e}")
    assert worst < 1e-12


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adam_is_torch_adam(seed):
    lr, b1, b2, eps = [(1e-3, 0.9, 0.999, 1e-8), (0.05, 0.5, 0.9, 1e-8), (0.01, 0.8, 0.99, 1e-3)][seed]
    worst = compare_with_torch(REF["Adam"](lr=lr, beta1=b1, beta2=b2, eps=eps),
                               lambda p: torch.optim.Adam(p, lr=lr, betas=(b1, b2), eps=eps), seed)
    print(f"Adam lr={lr} betas=({b1}, {b2}) eps={eps}: largest relative difference to torch {worst:.1e}")
    assert worst < 1e-10


def test_weight_decay_gradient_is_torch_sgd_weight_decay_on_the_weights():
    """One SGD step after add_weight_decay equals torch.optim.SGD(weight_decay=λ) on the weights, and leaves
    the biases as plain SGD does (torch decays whatever it is given: here the biases are given without)."""
    rng = np.random.default_rng(3)
    model = stand_in(rng)
    for layer in linear(model):
        layer.grads = {k: rng.normal(size=np.shape(v)) for k, v in layer.params.items()}
    weights = [torch.tensor(layer.params["weight"], requires_grad=True) for layer in linear(model)]
    biases = [torch.tensor(layer.params["bias"], requires_grad=True) for layer in linear(model)]
    for layer, w, b in zip(linear(model), weights, biases):
        w.grad, b.grad = torch.tensor(layer.grads["weight"]), torch.tensor(layer.grads["bias"])
    torch.optim.SGD([{"params": weights, "weight_decay": 0.4}, {"params": biases}], lr=0.1).step()
    squares = sum(float(np.sum(layer.params["weight"] ** 2)) for layer in linear(model))
    assert REF["add_weight_decay"](model, 0.4) == pytest.approx(0.2 * squares, rel=1e-12)
    REF["sgd_step"](model, 0.1)
    for layer, w, b in zip(linear(model), weights, biases):
        assert np.allclose(layer.params["weight"], w.detach().numpy(), rtol=1e-12, atol=0)
        assert np.allclose(layer.params["bias"], b.detach().numpy(), rtol=1e-12, atol=0)


def test_dropout_keeps_the_expectation_and_matches_torchs_rate():
    drop = REF["DropoutModule"](0.3, np.random.default_rng(4))
    x = np.full((400, 500), 3.0)
    ours = drop.forward(x)
    torch.manual_seed(4)  # torch draws its mask from the global generator: seeded, the run repeats exactly
    theirs = torch.nn.functional.dropout(torch.tensor(x), p=0.3, training=True).numpy()
    for out in (ours, theirs):  # the same two values, 0 and x / (1 - p), at the same rate
        assert np.allclose(np.unique(out), [0.0, 3.0 / 0.7], rtol=1e-12)
        assert abs((out == 0).mean() - 0.3) < 0.005 and abs(out.mean() - 3.0) < 0.02
