"""Catalogue of classic student mistakes, each a small named change to the reference solution.

Each bug names the hidden/visible test cell(s) meant to catch it. grader_tests autogrades a submission
with each bug and checks that those cells lose points while the reference keeps full marks; the README's
demo grades two of them as sample submissions.
"""
from __future__ import annotations

from dataclasses import dataclass

from .submissions import Edit

NUMPY = "1_mlp_numpy"
TORCH = "2_mlp_pytorch"


@dataclass(frozen=True)
class Bug:
    name: str
    why: str
    edits: tuple[Edit, ...]
    caught_by: tuple[str, ...]  # grade_ids of the test cells that must lose points

    @property
    def notebooks(self) -> set[str]:
        return {e.notebook for e in self.edits}


def _bug(name, why, notebook, cell, old, new, caught_by):
    return Bug(name, why, (Edit(notebook, cell, old, new),), tuple(caught_by))


NUMPY_BUGS = [
    _bug("softmax_wrong_axis", "normalises columns instead of rows",
         NUMPY, "softmax_module",
         "self.out = exps / exps.sum(axis=1, keepdims=True)",
         "self.out = exps / exps.sum(axis=0, keepdims=True)",
         ["test_softmax_forward"]),
    _bug("softmax_no_max_subtraction", "exp overflows for large logits",
         NUMPY, "softmax_module",
         "shifted = x - x.max(axis=1, keepdims=True)", "shifted = x",
         ["test_softmax_stability"]),
    _bug("softmax_global_max", "subtracts the batch maximum, rows far below it underflow to 0/0",
         NUMPY, "softmax_module",
         "shifted = x - x.max(axis=1, keepdims=True)", "shifted = x - x.max()",
         ["test_softmax_stability"]),
    _bug("softmax_in_place", "subtracts the maximum from the caller's array in place",
         NUMPY, "softmax_module",
         "shifted = x - x.max(axis=1, keepdims=True)", "x -= x.max(axis=1, keepdims=True)\n        shifted = x",
         ["test_softmax_forward"]),
    _bug("bias_grad_mean", "averages the bias gradient over the batch instead of summing",
         NUMPY, "linear_module",
         'self.grads["bias"] = dout.sum(axis=0)', 'self.grads["bias"] = dout.mean(axis=0)',
         ["test_linear_backward"]),
    _bug("bias_grad_missing", "never sets the bias gradient",
         NUMPY, "linear_module",
         '        self.grads["bias"] = dout.sum(axis=0)\n', "",
         ["test_linear_backward"]),
    _bug("weight_grad_transposed", "dW = dout.T @ x has shape (out, in)",
         NUMPY, "linear_module",
         'self.grads["weight"] = self.x.T @ dout', 'self.grads["weight"] = dout.T @ self.x',
         ["test_linear_backward"]),
    _bug("grads_accumulate", "adds to the gradients instead of setting them",
         NUMPY, "linear_module",
         'self.grads["weight"] = self.x.T @ dout\n        self.grads["bias"] = dout.sum(axis=0)',
         'self.grads["weight"] += self.x.T @ dout\n        self.grads["bias"] += dout.sum(axis=0)',
         ["test_linear_backward_state"]),
    _bug("zero_init", "all weights start at zero: hidden units stay identical",
         NUMPY, "linear_module",
         "rng.normal(0.0, std, size=(in_features, out_features))", "np.zeros((in_features, out_features))",
         ["test_linear_init", "test_overfit_small"]),
    _bug("xavier_scale", "initial std sqrt(1/in) instead of Kaiming's sqrt(2/in)",
         NUMPY, "linear_module",
         "std = np.sqrt(2.0 / in_features)", "std = np.sqrt(1.0 / in_features)",
         ["test_linear_init"]),
    _bug("global_random_state", "draws weights from np.random instead of the given rng",
         NUMPY, "linear_module",
         "rng.normal(0.0, std, size=(in_features, out_features))",
         "np.random.normal(0.0, std, size=(in_features, out_features))",
         ["test_linear_init"]),
    _bug("relu_mask_from_dout", "masks the gradient by the sign of dout instead of the input",
         NUMPY, "relu_module",
         "return dout * self.mask", "return dout * (dout > 0)",
         ["test_relu"]),
    _bug("relu_in_place", "zeroes the negative inputs in the caller's array",
         NUMPY, "relu_module",
         "return np.where(self.mask, x, 0.0)", "x[~self.mask] = 0.0\n        return x",
         ["test_relu_no_mutation"]),
    _bug("ce_grad_not_divided_by_n", "loss is a mean but its gradient misses the 1/N",
         NUMPY, "cross_entropy_module",
         "-1.0 / (n * np.maximum(x[np.arange(n), y], self.eps))", "-1.0 / np.maximum(x[np.arange(n), y], self.eps)",
         ["test_cross_entropy_backward"]),
    _bug("ce_labels_as_columns", "picks probs[:, y], an N x N matrix, instead of probs[arange(N), y]",
         NUMPY, "cross_entropy_module",
         "picked = np.maximum(x[np.arange(n), y], self.eps)", "picked = np.maximum(x[:, y], self.eps)",
         ["test_cross_entropy"]),
    _bug("ce_no_clip", "log(0) = -inf for a confidently wrong prediction",
         NUMPY, "cross_entropy_module",
         "picked = np.maximum(x[np.arange(n), y], self.eps)", "picked = x[np.arange(n), y]",
         ["test_cross_entropy_stability"]),
    _bug("hardcoded_sizes", "MLP only works for 64 inputs and 10 classes",
         NUMPY, "mlp",
         "sizes = [n_inputs] + list(n_hidden) + [n_classes]", "sizes = [64] + list(n_hidden) + [10]",
         ["test_mlp_structure", "test_mlp_gradients"]),
    _bug("relu_after_last_layer", "a ReLU after the output layer clips the logits at 0",
         NUMPY, "mlp",
         "            if i < len(sizes) - 2:\n                self.layers.append(ReLUModule())",
         "            self.layers.append(ReLUModule())",
         ["test_mlp_structure"]),
    _bug("backward_in_forward_order", "backpropagates through the layers in forward order",
         NUMPY, "mlp",
         "for layer in reversed(self.layers):", "for layer in self.layers:",
         ["test_mlp_gradients"]),
    _bug("sgd_wrong_sign", "gradient ascent: adds the gradient",
         NUMPY, "sgd_step",
         "layer.params[name] - lr * layer.grads[name]", "layer.params[name] + lr * layer.grads[name]",
         ["test_sgd_step", "test_final_accuracy"]),
    _bug("sgd_skips_bias", "updates the weights only",
         NUMPY, "sgd_step",
         "for name in layer.params:", 'for name in ["weight"]:',
         ["test_sgd_step"]),
    _bug("accuracy_as_count", "returns the number of correct samples, not the fraction",
         NUMPY, "sgd_step",
         "return float(np.mean(np.argmax(scores, axis=1) == y))", "return float(np.sum(np.argmax(scores, axis=1) == y))",
         ["test_accuracy"]),
    _bug("scaler_fit_on_all_data", "standardises with statistics of train + validation + test",
         NUMPY, "standardize",
         "mean = X_train.mean(axis=0)\n    std = X_train.std(axis=0)",
         "everything = np.concatenate([X_train, X_val, X_test])\n"
         "    mean = everything.mean(axis=0)\n    std = everything.std(axis=0)",
         ["test_standardize"]),
    _bug("val_acc_on_training_set", "reports training accuracy as validation accuracy",
         NUMPY, "train",
         'history["val_acc"].append(accuracy(model.forward(X_val), y_val))',
         'history["val_acc"].append(accuracy(model.forward(X_train), y_train))',
         ["test_train"]),
    _bug("no_shuffle", "visits the samples in the same order every epoch",
         NUMPY, "train",
         "order = rng.permutation(n)", "order = np.arange(n)",
         ["test_train"]),
    _bug("drops_last_batch", "skips the last, smaller mini-batch",
         NUMPY, "train",
         "for start in range(0, n, batch_size):", "for start in range(0, n - batch_size + 1, batch_size):",
         ["test_train"]),
]

TORCH_BUGS = [
    _bug("loader_float64", "keeps the inputs as float64, which the float32 weights reject",
         TORCH, "make_loaders",
         "torch.as_tensor(X, dtype=torch.float32)", "torch.as_tensor(X)",
         ["test_make_loaders"]),
    _bug("loader_unseeded_shuffle", "shuffles with the global random state: the seed reproduces nothing",
         TORCH, "make_loaders",
         "batch_size=batch_size, shuffle=True, generator=generator)", "batch_size=batch_size, shuffle=True)",
         ["test_make_loaders"]),
    _bug("loader_shuffles_validation", "shuffles the validation and test loaders as well",
         TORCH, "make_loaders",
         "val_loader = DataLoader(dataset(X_val, y_val), batch_size=batch_size)",
         "val_loader = DataLoader(dataset(X_val, y_val), batch_size=batch_size, shuffle=True)",
         ["test_make_loaders"]),
    _bug("layers_in_python_list", "keeps the layers in a plain list: PyTorch never sees the parameters",
         TORCH, "mlp",
         "self.net = nn.Sequential(*layers)", "self.layers = layers",
         ["test_mlp_structure"]),
    _bug("softmax_in_model", "returns probabilities instead of logits",
         TORCH, "mlp",
         "return self.net(x)", "return torch.softmax(self.net(x), dim=1)",
         ["test_mlp_returns_logits"]),
    _bug("relu_after_output", "a ReLU after the last layer clips the logits",
         TORCH, "mlp",
         "            if i < len(sizes) - 2:\n                layers.append(nn.ReLU())",
         "            layers.append(nn.ReLU())",
         ["test_mlp_returns_logits"]),
    _bug("weights_reshaped_not_transposed", "reshapes W (in, out) to (out, in) instead of transposing it",
         TORCH, "load_numpy_weights",
         "layer.weight.copy_(torch.as_tensor(W.T))", "layer.weight.copy_(torch.as_tensor(W.reshape(W.shape[::-1])))",
         ["test_load_numpy_weights"]),
    _bug("function_bias_grad_mean", "averages the bias gradient over the batch",
         TORCH, "linear_function",
         "grad_output.sum(dim=0)", "grad_output.mean(dim=0)",
         ["test_linear_function"]),
    _bug("function_weight_grad_transposed", "returns dW with shape (in, out)",
         TORCH, "linear_function",
         "grad_output.T @ x,", "x.T @ grad_output,",
         ["test_linear_function"]),
    _bug("missing_zero_grad", "gradients of all previous batches pile up in .grad",
         TORCH, "train_one_epoch",
         "        optimizer.zero_grad()\n        loss = loss_fn(model(x), y)", "        loss = loss_fn(model(x), y)",
         ["test_train_one_epoch"]),
    _bug("zero_grad_between_backward_and_step", "clears the gradients just before the step uses them",
         TORCH, "train_one_epoch",
         "        optimizer.zero_grad()\n        loss = loss_fn(model(x), y)\n        loss.backward()\n",
         "        loss = loss_fn(model(x), y)\n        loss.backward()\n        optimizer.zero_grad()\n",
         ["test_train_one_epoch"]),
    _bug("missing_step", "computes gradients but never updates the parameters",
         TORCH, "train_one_epoch",
         "        optimizer.step()\n", "",
         ["test_train_one_epoch"]),
    _bug("loss_tensor_in_history", "keeps the loss tensors, returns a tensor instead of a float",
         TORCH, "train_one_epoch",
         "losses.append(loss.item())\n    return float(np.mean(losses))",
         "losses.append(loss)\n    return torch.stack(losses).mean()",
         ["test_train_one_epoch"]),
    _bug("no_model_train", "never switches back to training mode after evaluate",
         TORCH, "train_one_epoch",
         "    model.train()\n    losses = []", "    losses = []",
         ["test_train_one_epoch"]),
    _bug("evaluate_builds_graph", "evaluates without torch.no_grad()",
         TORCH, "train_one_epoch",
         "    with torch.no_grad():\n        for x, y in loader:\n            x, y = x.to(device), y.to(device)\n"
         "            correct += (model(x).argmax(dim=1) == y).sum().item()\n            total += len(y)",
         "    for x, y in loader:\n        x, y = x.to(device), y.to(device)\n"
         "        correct += (model(x).argmax(dim=1) == y).sum().item()\n        total += len(y)",
         ["test_evaluate"]),
    _bug("evaluate_without_eval_mode", "evaluates in training mode",
         TORCH, "train_one_epoch",
         "    model.eval()\n    correct, total = 0, 0", "    correct, total = 0, 0",
         ["test_evaluate"]),
    _bug("evaluate_mean_of_batch_accuracies", "averages per-batch accuracies; the last batch is smaller",
         TORCH, "train_one_epoch",
         "            correct += (model(x).argmax(dim=1) == y).sum().item()\n            total += len(y)\n"
         "    return correct / total",
         "            correct += (model(x).argmax(dim=1) == y).float().mean().item()\n            total += 1\n"
         "    return correct / total",
         ["test_evaluate"]),
    _bug("fit_validates_on_training_set", "measures 'validation' accuracy on the training loader",
         TORCH, "fit",
         "acc = evaluate(model, val_loader, device)", "acc = evaluate(model, train_loader, device)",
         ["test_fit"]),
    _bug("fit_best_state_not_copied", "keeps state_dict() without a copy: the 'best' state follows training",
         TORCH, "fit",
         "copy.deepcopy(model.state_dict())", "model.state_dict()",
         ["test_fit"]),
    _bug("fit_keeps_last_epoch", "never restores the best epoch's parameters",
         TORCH, "fit",
         "    model.load_state_dict(best_state)\n", "",
         ["test_fit"]),
]

ALL_BUGS = NUMPY_BUGS + TORCH_BUGS


def bug_named(name: str) -> Bug:
    return next(b for b in ALL_BUGS if b.name == name)
