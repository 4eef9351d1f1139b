"""A regression MLP that logs to TensorBoard and exports itself to ONNX, as course notebooks do."""
import os

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.tensorboard import SummaryWriter

torch.manual_seed(0)
X = torch.randn(256, 4)
y = X @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * torch.randn(256, 1)
loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
writer = SummaryWriter("runs/regression")
step = 0
for epoch in range(5):
    for xb, yb in loader:
        loss = nn.functional.mse_loss(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        writer.add_scalar("Loss/train", loss.item(), step)
        step += 1
    print(f"epoch {epoch} loss {loss.item():.4f}")
writer.close()

model.eval()
torch.onnx.export(model, (torch.randn(1, 4),), "model.onnx", input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
print("exported", os.path.getsize("model.onnx") > 0, "logged", len(os.listdir("runs/regression")) > 0)
