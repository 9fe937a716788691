"""Helpers for both probe files of assignment 1 (gradekit runs this file before each of them, in the
kernel and in the grader alike; it defines no probe of its own)."""
import numpy as np


def recorded_forward(weights, biases, x):
    """Logits of the specified architecture (Linear, ReLU, ..., Linear) from recorded parameters, each
    weight of shape (in, out)."""
    for i, (w, b) in enumerate(zip(weights, biases)):
        x = x @ w + b
        if i < len(weights) - 1:
            x = np.maximum(x, 0)
    return x


def accuracy_of(logits, y):
    return float(np.mean(np.argmax(logits, axis=1) == y))
