"""Correct solutions that differ from the reference: each must get full marks (no false failures).

Each alternative is a small named edit of the reference solution, written the way another student
could correctly solve the exercise. grader_tests autogrades every one.
"""
from __future__ import annotations

from .bugs import NUMPY, TORCH
from .submissions import Edit

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
}
