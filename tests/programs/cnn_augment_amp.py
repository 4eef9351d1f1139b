"""A CNN on FashionMNIST with torchvision augmentations, the AMP boilerplate (off on a CPU), a whole-model save."""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.transforms as transforms

root = sys.argv[1] if len(sys.argv) > 1 else "./data"
device = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(0)
if torch.cuda.is_available():
    torch.cuda.manual_seed_all(0)
torch.backends.cudnn.benchmark = True

transform_train = transforms.Compose([
    transforms.RandomCrop(28, padding=2),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize((0.5,), (0.5,)),
])
transform_test = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
trainset = torchvision.datasets.FashionMNIST(root=root, train=True, download=True, transform=transform_train)
testset = torchvision.datasets.FashionMNIST(root=root, train=False, download=True, transform=transform_test)
trainloader = torch.utils.data.DataLoader(trainset, batch_size=32, shuffle=True, num_workers=2,
                                          pin_memory=torch.cuda.is_available())
testloader = torch.utils.data.DataLoader(testset, batch_size=100, shuffle=False, num_workers=2)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


net = Net().to(device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
use_amp = device == "cuda"
scaler = torch.amp.GradScaler(device, enabled=use_amp)

for epoch in range(2):
    running_loss = 0.0
    for i, (inputs, labels) in enumerate(trainloader):
        inputs, labels = inputs.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device, dtype=torch.float16, enabled=use_amp):
            outputs = net(inputs)
            loss = criterion(outputs, labels)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        running_loss += loss.item()
        if i % 4 == 3:
            print(f"[{epoch + 1}, {i + 1:3d}] loss: {running_loss / 4:.3f}")
            running_loss = 0.0

torch.save(net, "whole_model.pt")
restored = torch.load("whole_model.pt", weights_only=False)
restored.eval()
net.eval()
correct = total = 0
with torch.no_grad():
    for images, labels in testloader:
        outputs = restored(images.to(device))
        assert (outputs - net(images.to(device))).abs().max().item() == 0
        correct += (outputs.argmax(1) == labels.to(device)).sum().item()
        total += labels.size(0)
print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")
