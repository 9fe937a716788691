"""Correct solutions that differ from the reference: each must get full marks (no false failures).

Each alternative is a small named edit of the reference solution, written the way another student
could correctly solve the exercise, where a rewrite from the syntax tree (gradekit.authoring.variants) cannot
express it: loops for vectorised code, another way to copy a state, another initialisation, another
structure (how the modules are held and registered, their interface, functional activations). `draw`
gives the reference with everything the instructions leave free drawn anew, for the flake rate. The
strength command grades them all, and grader_tests asserts that none loses a point.
"""
from __future__ import annotations

from gradekit.authoring.submissions import Edit

from .bugs import NUMPY, TORCH

ALTERNATIVES: dict[str, list[Edit]] = {
    "relu_maximum": [Edit(NUMPY, "relu_module", "return np.where(self.mask, x, 0.0)", "return np.maximum(x, 0.0)")],
    "relu_mask_product": [Edit(NUMPY, "relu_module", "return np.where(self.mask, x, 0.0)", "return x * self.mask")],
    "softmax_logsumexp": [Edit(
        NUMPY, "softmax_module",
        "shifted = x - x.max(axis=1, keepdims=True)\n        exps = np.exp(shifted)\n"
        "        self.out = exps / exps.sum(axis=1, keepdims=True)",
        "m = np.max(x, axis=1, keepdims=True)\n"
        "        log_norm = m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))\n"
        "        self.out = np.exp(x - log_norm)")],
    "softmax_backward_jacobian": [Edit(
        NUMPY, "softmax_module",
        "return s * (dout - np.sum(dout * s, axis=1, keepdims=True))",
        "jac = np.einsum('ij,jk->ijk', s, np.eye(s.shape[1])) - np.einsum('ij,ik->ijk', s, s)\n"
        "        return np.einsum('ijk,ik->ij', jac, dout)")],
    "fused_logsumexp_and_one_hot_matrix": [Edit(
        NUMPY, "softmax_cross_entropy",
        "n = logits.shape[0]\n    shifted = logits - logits.max(axis=1, keepdims=True)\n"
        "    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))\n    log_probs = shifted - log_norm\n"
        "    loss = float(-np.mean(log_probs[np.arange(n), y]))\n    dlogits = np.exp(log_probs)\n"
        "    dlogits[np.arange(n), y] -= 1.0\n    return loss, dlogits / n",
        "n, c = logits.shape\n    m = np.max(logits, axis=1)\n"
        "    lse = m + np.log(np.sum(np.exp(logits - m[:, None]), axis=1))\n"
        "    loss = np.mean(lse - logits[np.arange(n), y])\n"
        "    probs = np.exp(logits - lse[:, None])\n"
        "    return loss, (probs - np.eye(c)[y]) / n")],
    "cross_entropy_clip_and_onehot": [
        Edit(NUMPY, "cross_entropy_module", "picked = np.maximum(x[np.arange(n), y], self.eps)\n"
             "        return float(-np.mean(np.log(picked)))",
             "picked = np.clip(x[np.arange(n), y], self.eps, None)\n        return -np.log(picked).sum() / n"),
        Edit(NUMPY, "cross_entropy_module",
             "dx = np.zeros_like(x, dtype=np.float64)\n"
             "        dx[np.arange(n), y] = -1.0 / (n * np.maximum(x[np.arange(n), y], self.eps))",
             "onehot = np.eye(x.shape[1])[y]\n        dx = -onehot / (n * np.maximum(x, self.eps))")],
    "init_standard_normal": [Edit(NUMPY, "linear_module",
                                  "rng.normal(0.0, std, size=(in_features, out_features))",
                                  "rng.standard_normal((in_features, out_features)) * std")],
    "linear_bias_grad_matmul": [Edit(NUMPY, "linear_module", 'self.grads["bias"] = dout.sum(axis=0)',
                                     'self.grads["bias"] = np.ones(dout.shape[0]) @ dout')],
    "standardize_masked_std": [Edit(NUMPY, "standardize", "std = np.where(std > 0, std, 1.0)", "std[std == 0] = 1.0")],
    "sgd_in_place": [Edit(NUMPY, "sgd_step", "layer.params[name] = layer.params[name] - lr * layer.grads[name]",
                          "layer.params[name] -= lr * layer.grads[name]")],
    # the chain of sections 4 and 5 instead of the fused loss the text asks for: the same numbers, to rounding
    "train_chained_loss": [Edit(NUMPY, "train",
                                "loss, dlogits = softmax_cross_entropy(model.forward(x), y)\n"
                                "            losses.append(loss)\n            model.backward(dlogits)",
                                "softmax, ce = SoftMaxModule(), CrossEntropyModule()\n"
                                "            probs = softmax.forward(model.forward(x))\n"
                                "            losses.append(ce.forward(probs, y))\n"
                                "            model.backward(softmax.backward(ce.backward(probs, y)))")],
    "train_shuffle_in_place": [Edit(NUMPY, "train", "order = rng.permutation(n)",
                                    "order = np.arange(n)\n        rng.shuffle(order)")],
    "accuracy_method_chain": [Edit(NUMPY, "sgd_step", "return float(np.mean(np.argmax(scores, axis=1) == y))",
                                   "return (scores.argmax(1) == y).mean().item()")],
    "loaders_tensor_casts": [Edit(TORCH, "make_loaders",
                                  "return TensorDataset(torch.as_tensor(X, dtype=torch.float32), "
                                  "torch.as_tensor(y, dtype=torch.int64))",
                                  "return TensorDataset(torch.tensor(X).float(), torch.tensor(y).long())")],
    "mlp_module_list": [
        Edit(TORCH, "mlp", "self.net = nn.Sequential(*layers)",
             "self.layers = nn.ModuleList(l for l in layers if isinstance(l, nn.Linear))"),
        Edit(TORCH, "mlp", "return self.net(x)",
             "for i, layer in enumerate(self.layers):\n            x = layer(x)\n"
             "            if i < len(self.layers) - 1:\n                x = F.relu(x)\n        return x")],
    "mlp_named_layers": [
        Edit(TORCH, "mlp", "self.net = nn.Sequential(*layers)",
             "for i, layer in enumerate(layers):\n            self.add_module(f'layer{i}', layer)"),
        Edit(TORCH, "mlp", "return self.net(x)", "for layer in self.children():\n            x = layer(x)\n"
             "        return x")],
    "load_weights_from_numpy_t": [Edit(TORCH, "load_numpy_weights", "layer.weight.copy_(torch.as_tensor(W.T))",
                                       "layer.weight.copy_(torch.from_numpy(W).t())")],
    "linear_function_einsum": [Edit(TORCH, "linear_function",
                                    "return grad_output @ weight, grad_output.T @ x, grad_output.sum(dim=0)",
                                    "return (torch.einsum('no,oi->ni', grad_output, weight),\n"
                                    "                torch.einsum('no,ni->oi', grad_output, x), grad_output.sum(0))")],
    "evaluate_numel": [Edit(TORCH, "train_one_epoch", "total += len(y)", "total += y.numel()")],
    "fit_ties_keep_latest": [Edit(TORCH, "fit", "if acc > best_acc:", "if acc >= best_acc:")],
    "softmax_rowwise_loop": [Edit(
        NUMPY, "softmax_module",
        "shifted = x - x.max(axis=1, keepdims=True)\n        exps = np.exp(shifted)\n"
        "        self.out = exps / exps.sum(axis=1, keepdims=True)",
        "self.out = np.empty_like(x, dtype=float)\n        for i, row in enumerate(x):\n"
        "            e = np.exp(row - row.max())\n            self.out[i] = e / e.sum()")],
    "linear_bias_grad_loop": [Edit(NUMPY, "linear_module", 'self.grads["bias"] = dout.sum(axis=0)',
                                   'self.grads["bias"] = np.zeros(dout.shape[1])\n'
                                   '        for row in dout:\n            self.grads["bias"] = self.grads["bias"] + row')],
    "accuracy_loop": [Edit(NUMPY, "sgd_step", "return float(np.mean(np.argmax(scores, axis=1) == y))",
                           "correct = 0\n    for row, label in zip(scores, y):\n"
                           "        correct += int(np.argmax(row) == label)\n    return correct / len(y)")],
    "mlp_backward_index_loop": [Edit(NUMPY, "mlp", "for layer in reversed(self.layers):\n            dout = layer.backward(dout)",
                                     "for i in range(len(self.layers) - 1, -1, -1):\n"
                                     "            dout = self.layers[i].backward(dout)")],
    "train_loss_per_sample": [Edit(TORCH, "train_one_epoch",
                                   "losses.append(loss.item())\n    return float(np.mean(losses))",
                                   "losses.append((loss.item() * len(y), len(y)))\n"
                                   "    return sum(l for l, _ in losses) / sum(n for _, n in losses)")],
    "train_loss_numpy_float32": [Edit(TORCH, "train_one_epoch",
                                      "losses.append(loss.item())\n    return float(np.mean(losses))",
                                      "losses.append(loss.detach().cpu().numpy())\n    return np.mean(losses)")],
    "evaluate_concat_float_mean": [Edit(
        TORCH, "train_one_epoch",
        "correct, total = 0, 0\n    with torch.no_grad():\n        for x, y in loader:\n"
        "            x, y = x.to(device), y.to(device)\n"
        "            correct += (model(x).argmax(dim=1) == y).sum().item()\n            total += len(y)\n"
        "    return correct / total",
        "predictions, labels = [], []\n    with torch.no_grad():\n        for x, y in loader:\n"
        "            predictions.append(model(x.to(device)).argmax(dim=1).cpu())\n            labels.append(y)\n"
        "    return (torch.cat(predictions) == torch.cat(labels)).float().mean().item()")],
    "fit_clone_state_dict": [Edit(TORCH, "fit", "copy.deepcopy(model.state_dict())",
                                  "{k: v.detach().clone() for k, v in model.state_dict().items()}")],
    # Structure the instructions leave free: how the modules are held, in which order they are registered,
    # what interface a module without parameters has, an activation as a function.
    "relu_uniform_interface": [
        Edit(NUMPY, "relu_module", '    """Element-wise max(0, x)."""\n',
             '    """Element-wise max(0, x)."""\n\n    def __init__(self):\n'
             "        self.params, self.grads = {}, {}  # the interface of every module: none to learn here\n"),
        Edit(NUMPY, "add_weight_decay", 'if hasattr(layer, "params"):', 'if "weight" in getattr(layer, "params", {}):')],
    "mlp_output_registered_first": [
        Edit(TORCH, "mlp", "self.net = nn.Sequential(*layers)",
             "self.output = nn.Linear(sizes[-2], sizes[-1])\n"
             "        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-2], sizes[1:-1]))"),
        Edit(TORCH, "mlp", "return self.net(x)",
             "for layer in self.hidden:\n            x = F.relu(layer(x))\n        return self.output(x)")],
    "mlp_registered_in_reverse": [
        Edit(TORCH, "mlp", "self.net = nn.Sequential(*layers)",
             "for i in reversed(range(len(layers))):\n            self.add_module(f'step{i}', layers[i])\n"
             "        self.steps = len(layers)"),
        Edit(TORCH, "mlp", "return self.net(x)",
             "for i in range(self.steps):\n            x = getattr(self, f'step{i}')(x)\n        return x")],
    "mlp_module_dict_torch_relu": [
        Edit(TORCH, "mlp", "self.net = nn.Sequential(*layers)",
             "self.linears = nn.ModuleDict({f'fc{i}': l for i, l in enumerate(l for l in layers if isinstance(l, nn.Linear))})"),
        Edit(TORCH, "mlp", "return self.net(x)",
             "*hidden, last = self.linears.values()\n        for layer in hidden:\n"
             "            x = torch.relu(layer(x))\n        return last(x)")],
}

# PyTorch initialisations the instructions leave open (section 2 fixes the architecture, not the init).
TORCH_INITS = [
    "nn.init.kaiming_uniform_(layer.weight, a=5 ** 0.5, generator=g)",  # PyTorch's default, redrawn
    'nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=g)',
    'nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu", generator=g)',
    "nn.init.xavier_uniform_(layer.weight, generator=g)",
    "nn.init.normal_(layer.weight, 0.0, layer.in_features ** -0.5, generator=g)",
]


def draw(notebook: str, k: int) -> list[Edit]:
    """Edits that make the k-th draw of what the instructions of `notebook` leave free: the random
    numbers behind the initialisation and the shuffling (still drawn from the generator the instructions
    name, so a seed still reproduces the run), the PyTorch initialisation scheme, and the SEED setting.
    No edits for a notebook of another assignment."""
    if notebook not in (NUMPY, TORCH):
        return []
    seed = [Edit(notebook, None, "SEED = 42", f"SEED = {1000 + k}")]
    if notebook == NUMPY:
        derived = f"np.random.default_rng(rng.integers(2**32) + {k})"
        return seed + [
            Edit(NUMPY, "linear_module", "rng.normal(0.0, std, size=(in_features, out_features))",
                 f"{derived}.normal(0.0, std, size=(in_features, out_features))"),
            Edit(NUMPY, "train", "order = rng.permutation(n)", f"order = {derived}.permutation(n)")]
    init = TORCH_INITS[k % len(TORCH_INITS)]
    return seed + [Edit(TORCH, "mlp", "self.net = nn.Sequential(*layers)",
                        "self.net = nn.Sequential(*layers)\n"
                        f"        g = torch.Generator().manual_seed(int(torch.randint(2**31 - 1, ())) + {k})\n"
                        "        with torch.no_grad():\n"
                        "            for layer in self.net:\n"
                        "                if isinstance(layer, nn.Linear):\n"
                        f"                    {init}\n"
                        "                    nn.init.uniform_(layer.bias, -layer.in_features ** -0.5, "
                        "layer.in_features ** -0.5, generator=g)")]
