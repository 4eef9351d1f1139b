"""torchvision's helpers in one program: transforms on PIL images, make_grid/save_image, a model, ImageFolder."""
import os

import torch
import torchvision
from PIL import Image
from torchvision import models, transforms
from torchvision.utils import make_grid, save_image

os.makedirs("images/red", exist_ok=True)
os.makedirs("images/blue", exist_ok=True)
for i in range(4):
    Image.new("RGB", (40, 30), (200, 10 * i, 0)).save(f"images/red/{i}.png")
    Image.new("RGB", (40, 30), (0, 10 * i, 200)).save(f"images/blue/{i}.png")

preprocess = transforms.Compose([
    transforms.Resize(36),
    transforms.CenterCrop(32),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])
dataset = torchvision.datasets.ImageFolder("images", transform=preprocess)
loader = torch.utils.data.DataLoader(dataset, batch_size=4, shuffle=True)
print(dataset.classes, len(dataset))

model = models.resnet18(weights=None, num_classes=len(dataset.classes))
model.eval()
images, labels = next(iter(loader))
with torch.no_grad():
    logits = model(images)
print("logits", tuple(logits.shape))

grid = make_grid(images, nrow=2, normalize=True)
save_image(images, "batch.png", nrow=2, normalize=True)
print("grid", tuple(grid.shape), "saved", Image.open("batch.png").size)
try:
    models.resnet18(weights="IMAGENET1K_V1")
except RuntimeError as e:
    print("pretrained:", str(e).split(":")[0])
