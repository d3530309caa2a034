"""The Hessian of L2-penalized softmax regression written out from its definition: the
independent truth of the softmax Hessian tests."""

from __future__ import annotations

import numpy as np
import scipy.special


def numpy_hessian(X, codes, theta, l2):
    """∇²J of L2-penalized softmax regression, block by block from the definition."""
    m, p = X.shape
    K = int(codes.max()) + 1
    Xt = np.column_stack([np.ones(m), X])
    P = scipy.special.softmax(Xt @ theta.reshape(K, p + 1).T, axis=1)
    H = np.zeros((K, p + 1, K, p + 1))
    for c in range(K):
        for d in range(K):
            w = P[:, c] * ((c == d) - P[:, d])
            H[c, :, d, :] = Xt.T @ (Xt * w[:, None]) / m
    penalty = np.full((K, p + 1), l2)
    penalty[:, 0] = 0.0
    return H.reshape(K * (p + 1), -1) + np.diag(penalty.ravel())
