"""The collaborative half of the hybrid: what people who bought these also bought.

Two interchangeable learners over the binary customer x product matrix, chosen by measurement
(bench/recommender_benchmark.py): EASE (a closed-form item-item model, Steck 2019) and ALS matrix
factorisation from the `implicit` library. Both score a customer from their purchases alone ("fold-in"),
so a new order counts at once, without retraining.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import scipy.sparse as sp


class Collaborative(Protocol):
    kind: str

    def user_scores(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """A score for every product, given the customer's purchased product indices and their weights."""

    def batch_user_scores(self, histories: sp.csr_matrix) -> np.ndarray:
        """`user_scores` for many customers at once (rows of weights): the benchmark's fast path."""

    def item_scores(self, item: int) -> np.ndarray:
        """How strongly each product goes with one product."""

    def pull(self, items: np.ndarray, target: int) -> np.ndarray:
        """How much each of `items` contributes to `target`'s score: the 'because you bought' evidence."""

    def arrays(self) -> dict[str, np.ndarray]:
        """What to save; `from_arrays` restores the learner from it."""

    def padded(self, extra: int) -> Collaborative:
        """The same learner over `extra` more products that nobody has bought yet (they score 0)."""


class Ease:
    """EASE: B = I - P/diag(P), P = (X'X + λI)^-1; a customer's scores are the sum of their items' rows."""

    kind = "ease"

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights

    @classmethod
    def fit(cls, matrix: sp.csr_matrix, l2: float) -> Ease:
        gram = (matrix.T @ matrix).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += l2
        inverse = np.linalg.inv(gram)
        weights = -inverse / np.diag(inverse)[None, :]
        weights[np.diag_indices_from(weights)] = 0.0
        return cls(weights.astype(np.float32))

    def user_scores(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if len(items) == 0:
            return np.zeros(self.weights.shape[0], dtype=np.float32)
        return weights.astype(np.float32) @ self.weights[items]

    def batch_user_scores(self, histories: sp.csr_matrix) -> np.ndarray:
        return np.asarray(histories @ self.weights, dtype=np.float32)

    def item_scores(self, item: int) -> np.ndarray:
        return self.weights[item]

    def pull(self, items: np.ndarray, target: int) -> np.ndarray:
        return self.weights[items, target]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"ease_weights": self.weights}

    def padded(self, extra: int) -> Ease:
        return Ease(np.pad(self.weights, ((0, extra), (0, extra))))

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Ease:
        return cls(np.asarray(arrays["ease_weights"], dtype=np.float32))


class Als:
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) trained by `implicit`; customers folded in by one solve."""

    kind = "als"

    def __init__(self, item_factors: np.ndarray, regularization: float, alpha: float) -> None:
        self.item_factors = item_factors.astype(np.float32)
        self.regularization = float(regularization)
        self.alpha = float(alpha)
        self._gram = (self.item_factors.T @ self.item_factors).astype(np.float64)
        norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
        self._unit = self.item_factors / np.maximum(norms, 1e-8)

    @classmethod
    def fit(cls, matrix: sp.csr_matrix, factors: int, regularization: float, alpha: float, iterations: int,
            seed: int = 7) -> Als:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha,
                                            iterations=iterations, random_state=seed, num_threads=1)
            model.fit(matrix.astype(np.float32).tocsr(), show_progress=False)
        return cls(np.asarray(model.item_factors), regularization, alpha)

    def user_scores(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if len(items) == 0:
            return np.zeros(self.item_factors.shape[0], dtype=np.float32)
        factors = self.item_factors[items].astype(np.float64)
        confidence = self.alpha * weights.astype(np.float64)
        k = factors.shape[1]
        system = self._gram + (factors.T * confidence) @ factors + self.regularization * np.eye(k)
        user = np.linalg.solve(system, factors.T @ (1.0 + confidence))
        return (self.item_factors @ user.astype(np.float32)).astype(np.float32)

    def batch_user_scores(self, histories: sp.csr_matrix) -> np.ndarray:
        histories = histories.tocsr()
        out = np.zeros((histories.shape[0], self.item_factors.shape[0]), dtype=np.float32)
        for row in range(histories.shape[0]):
            start, end = histories.indptr[row], histories.indptr[row + 1]
            out[row] = self.user_scores(histories.indices[start:end], histories.data[start:end])
        return out

    def item_scores(self, item: int) -> np.ndarray:
        return self._unit @ self._unit[item]

    def pull(self, items: np.ndarray, target: int) -> np.ndarray:
        return self._unit[items] @ self._unit[target]

    def padded(self, extra: int) -> Als:
        return Als(np.pad(self.item_factors, ((0, extra), (0, 0))), self.regularization, self.alpha)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"als_item_factors": self.item_factors,
                "als_hyper": np.array([self.regularization, self.alpha], dtype=np.float64)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Als:
        regularization, alpha = (float(v) for v in arrays["als_hyper"])
        return cls(np.asarray(arrays["als_item_factors"]), regularization, alpha)


LEARNERS: dict[str, type[Ease] | type[Als]] = {"ease": Ease, "als": Als}
