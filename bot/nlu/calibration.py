"""Temperature scaling (Guo et al., 2017): one scalar that makes softmax confidences match accuracy.

Fine-tuned encoders are over-confident; a FallbackClassifier threshold of 0.5 should mean "right about half
the time or better", so the temperature is fitted on held-out (validation) phrasings by minimising NLL.
"""

from __future__ import annotations

import torch


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, bounds: tuple[float, float] = (0.05, 20.0)) -> float:
    """Return the temperature T minimising NLL of softmax(logits / T); 1.0 when there is nothing to fit."""
    if logits.numel() == 0 or logits.shape[-1] < 2:
        return 1.0
    logits, labels = logits.detach().float().cpu(), labels.detach().long().cpu()
    log_temperature = torch.zeros(1, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_temperature], lr=0.1, max_iter=200)

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_temperature.exp(), labels)
        loss.backward()
        return loss

    optimiser.step(closure)
    temperature = float(log_temperature.exp().item())
    if temperature != temperature:  # NaN: degenerate data
        return 1.0
    return min(max(temperature, bounds[0]), bounds[1])


def expected_calibration_error(probabilities: torch.Tensor, labels: torch.Tensor, bins: int = 10) -> float:
    """ECE: average |accuracy - confidence| over confidence bins, weighted by bin size."""
    confidence, predicted = probabilities.max(dim=-1)
    correct = predicted.eq(labels).float()
    error = torch.zeros(())
    for low in torch.linspace(0, 1, bins + 1)[:-1]:
        in_bin = (confidence > low) & (confidence <= low + 1.0 / bins)
        if in_bin.any():
            error += in_bin.float().mean() * (confidence[in_bin].mean() - correct[in_bin].mean()).abs()
    return float(error)
