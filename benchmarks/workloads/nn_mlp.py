"""The MLP training step of ``mlp.py`` built the PyTorch way: ``nn.Sequential`` of ``nn.Linear`` /
``nn.ReLU``, ``nn.CrossEntropyLoss``, and an optimizer from ``optim`` (SGD with momentum 0.9, or Adam).
Same data and the same initial weights on both sides."""
from ..registry import workload
from .mlp import mlp_data, mlp_init


def _nn_step(torch, make_optimizer):
    x_np, y_np = mlp_data()
    x, y = torch.tensor(x_np), torch.tensor(y_np)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                torch.nn.ReLU(), torch.nn.Linear(256, 10))
    w1, b1, w2, b2, w3, b3 = mlp_init()  # (in, out) weights: nn.Linear stores (out, in)
    state = {"0.weight": w1.T, "0.bias": b1, "2.weight": w2.T, "2.bias": b2, "4.weight": w3.T, "4.bias": b3}
    model.load_state_dict({k: torch.tensor(v.copy()) for k, v in state.items()})
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = make_optimizer(torch, model.parameters())

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


@workload("mlp_nn_sgd", "mlp_step with nn.Linear/nn.ReLU/nn.CrossEntropyLoss and optim.SGD(momentum=0.9)")
def mlp_nn_sgd(torch):
    return _nn_step(torch, lambda m, params: m.optim.SGD(params, lr=0.01, momentum=0.9))


@workload("mlp_nn_adam", "mlp_step with nn.Linear/nn.ReLU/nn.CrossEntropyLoss and optim.Adam(lr=1e-3)")
def mlp_nn_adam(torch):
    return _nn_step(torch, lambda m, params: m.optim.Adam(params, lr=1e-3))
