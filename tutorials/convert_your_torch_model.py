"""Tutorial: convert your own torch model into an SNN, then try an LD-SNN schedule.

Run:  python tutorials/convert_your_torch_model.py      (well under a minute on one core)

1. Train a small torch ANN (here: a 2-conv net on scikit-learn's 8x8 digits, a few epochs).
2. Convert it with ``Network.from_torch``: IF neurons, thresholds balanced on training data.
3. Evaluate the SNN at a uniform T, then an LD-SNN schedule with fewer steps in later stages.
"""

import torch
from torch import nn

from ldsnn_lava import Network, Schedule, datasets, evaluate

torch.manual_seed(0)
data = datasets.load("digits")                      # (N, 1, 8, 8) float32 in [0, 1]
model = nn.Sequential(                              # your model: any Conv/Linear/ReLU/AvgPool
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
    nn.Flatten(), nn.Linear(16 * 4 * 4, 10),
)
x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for _epoch in range(8):
    for batch in torch.randperm(len(x)).split(32):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
model.eval()
with torch.no_grad():
    ann = (model(torch.as_tensor(data.x_test)).argmax(1).numpy() == data.y_test).mean()
print(f"ANN test accuracy: {ann:.3f}")

net = Network.from_torch(model, data.x_train, percentile=99.9)   # batch norm folded
print(net)
uniform = evaluate(net, Schedule.uniform(net, 16), data.x_test)
print(f"SNN, uniform T=16: accuracy {uniform.accuracy(data.y_test):.3f}, synaptic updates "
      f"{uniform.counters.total['synaptic_updates']:.0f} per sample")
ld = evaluate(net, Schedule([16, 8, 8], buffers="rate"), data.x_test)
print(f"LD-SNN [16, 8, 8]: accuracy {ld.accuracy(data.y_test):.3f}, synaptic updates "
      f"{ld.counters.total['synaptic_updates']:.0f} per sample")
