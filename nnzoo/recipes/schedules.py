"""Learning-rate schedules the recipes build that ``nnzoo.optim.lr_scheduler`` does not have yet.

:class:`SequentialLR` is PyTorch's ``torch.optim.lr_scheduler.SequentialLR`` (its semantics, errors and
``state_dict`` layout), tested against it in ``tests/recipes/test_schedules.py``.

NOTE: it belongs in ``nnzoo/optim/lr_scheduler.py`` next to ``LinearLR`` and ``CosineAnnealingLR``; issue 14
split the files between helpers and that one was not this part's to change. Moving it is a cut and paste
(the class, its test, the import in ``nnzoo/recipes/gpt.py`` and ``benchmarks/char_gpt.py``).
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Any

from ..optim import Optimizer
from ..optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

__all__ = ["SequentialLR"]


class SequentialLR:
    """Hand the optimizer's lr from one scheduler to the next at the ``milestones`` (PyTorch's semantics).

    Epoch t is run by ``schedulers[i]``, i = the number of milestones <= t; at a milestone the next scheduler
    starts from its own epoch 0 (its closed form at 0: for ``CosineAnnealingLR``, its base lr).

    Args:
        optimizer (Optimizer): the optimizer every scheduler wraps.
        schedulers (list of LRScheduler): built on ``optimizer`` beforehand (their construction steps are
            undone here).
        milestones (list of int): ``len(schedulers) - 1`` epochs at which the next scheduler takes over.
        last_epoch (int): the index of the last epoch. Default: -1.

    Example (a linear warm-up over 2 steps, then a cosine to 0.1 over 4)::

        >>> from nnzoo.optim.lr_scheduler import CosineAnnealingLR, LinearLR
        >>> opt = nnzoo.optim.SGD([nnzoo.zeros(1, requires_grad=True)], lr=1.0)
        >>> warm, cos = LinearLR(opt, 1 / 3, total_iters=2), CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
        >>> sched = SequentialLR(opt, [warm, cos], milestones=[2])
        >>> lrs = [opt.param_groups[0]["lr"]]
        >>> for _ in range(6):
        ...     sched.step(); lrs.append(opt.param_groups[0]["lr"])
        >>> [round(v, 3) for v in lrs]
        [0.333, 0.667, 1.0, 0.868, 0.55, 0.232, 0.1]
    """

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler], milestones: list[int],
                 last_epoch: int = -1) -> None:
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f"{name} expects at least one scheduler, but got no scheduler.")
        for i, scheduler in enumerate(schedulers):
            if not hasattr(scheduler, "optimizer"):
                raise TypeError(f"{name} at index {i} should have `optimizer` as its attribute.")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"{name} does not support `ReduceLROnPlateau` scheduler as it requires additional "
                                 "kwargs to be specified when calling `step`, but got one at index "
                                 f"{i} in the given schedulers sequence.")
            if optimizer is not scheduler.optimizer:
                raise ValueError(f"{name} expects all schedulers to belong to the same optimizer, but got "
                                 f"scheduler {type(scheduler).__name__} at index {i} has {scheduler.optimizer}, "
                                 f"which is different from {type(optimizer).__name__}.")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("Sequential Schedulers expects number of schedulers provided to be one more than the "
                             f"number of milestone points, but got number of schedulers {len(schedulers)} and the "
                             f"number of milestones to be equal to {len(milestones)}")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:          # back to the lrs before the schedulers' first steps
            group["lr"] = group["initial_lr"]
        for scheduler in self._schedulers:            # undo the step each made when it was built
            scheduler.last_epoch -= 1
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._step_count = 0                         # PyTorch's _initial_step: the construction step again
        first._is_initial = True
        try:
            first.step()
        finally:
            first._is_initial = False
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        """Advance one epoch: step the scheduler in charge, or start the next one at its epoch 0."""
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            # PyTorch's scheduler._update_lr(0): the closed form at epoch 0, without a step count
            scheduler.last_epoch = 0
            closed = getattr(scheduler, "_get_closed_form_lr", None)
            values = closed() if closed is not None else scheduler.get_lr()
            for group, lr in zip(self.optimizer.param_groups, values):
                group["lr"] = lr
            scheduler._last_lr = [group["lr"] for group in self.optimizer.param_groups]
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def get_last_lr(self) -> list[float]:
        """The lrs the last ``step()`` set, one per param group."""
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, the schedulers' states in ``_schedulers`` (PyTorch's layout)."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        schedulers = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for scheduler, state in zip(self._schedulers, schedulers):
            scheduler.load_state_dict(state)
