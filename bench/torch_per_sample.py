"""PyTorch anchor for `npm run bench` (section e): per-sample gradients of MobileNetV2 the way the paper's reference
code collects them, one backward per sample, in inference mode (BatchNorm uses its running statistics, like ours).
torchvision's mobilenet_v2 when python3-torchvision is installed, else the same architecture written out here.
Prints one JSON line. Never a dependency of the extension: the benchmark skips this when torch is missing."""
import argparse, json, time, sys
import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument('--size', type=int, default=224)
p.add_argument('--classes', type=int, default=1000)
p.add_argument('--n', type=int, default=16)
p.add_argument('--budget', type=float, default=20.0, help='seconds of per-sample measurement at most')
a = p.parse_args()


def make_divisible(v, d=8):
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


def conv_bn(ci, co, k, s, groups=1):
    return nn.Sequential(nn.Conv2d(ci, co, k, s, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(co), nn.ReLU6(inplace=True))


class Inverted(nn.Module):
    def __init__(self, ci, co, s, t):
        super().__init__()
        h = ci * t
        layers = ([conv_bn(ci, h, 1, 1)] if t != 1 else []) + [conv_bn(h, h, 3, s, groups=h), nn.Conv2d(h, co, 1, bias=False), nn.BatchNorm2d(co)]
        self.conv = nn.Sequential(*layers)
        self.res = s == 1 and ci == co

    def forward(self, x):
        return x + self.conv(x) if self.res else self.conv(x)


def mobilenet_v2(classes):
    feats, ci = [conv_bn(3, 32, 3, 2)], 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            feats.append(Inverted(ci, make_divisible(c), s if i == 0 else 1, t))
            ci = make_divisible(c)
    feats.append(conv_bn(ci, 1280, 1, 1))
    return nn.Sequential(*feats, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, classes))


try:
    import torchvision
    model, source = torchvision.models.mobilenet_v2(num_classes=a.classes), f'torchvision {torchvision.__version__}'
except ImportError:
    model, source = mobilenet_v2(a.classes), 'built here (torchvision not installed)'
model.eval()
torch.manual_seed(0)
x = torch.rand(a.n, 3, a.size, a.size) * 2 - 1
y = torch.randint(0, a.classes, (a.n,))
params = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
d = sum(w.numel() for w in params)
loss_fn = nn.CrossEntropyLoss()
G = torch.empty(a.n, d)

def one(i):
    model.zero_grad(set_to_none=True)
    loss_fn(model(x[i:i + 1]), y[i:i + 1]).backward()
    G[i] = torch.cat([w.grad.reshape(-1) for w in params])

t0 = time.perf_counter()
one(0)  # warm-up: the allocator's first pages, lazy initialisation
first = time.perf_counter() - t0
t0, cpu0, done, times = time.perf_counter(), time.process_time(), 0, []
while done < a.n and (done < 2 or time.perf_counter() - t0 < a.budget):
    t1 = time.perf_counter()
    one(done)
    times.append(time.perf_counter() - t1)
    done += 1
wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0

# the batched backward (summed gradients, not per sample) for context
model.zero_grad(set_to_none=True)
t1 = time.perf_counter()
loss_fn(model(x), y).backward()
batched = time.perf_counter() - t1
print(json.dumps({'source': source, 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'weights': d,
                  'samples': done, 'perSamplePerSecond': done / wall, 'cpuSecondsPerSample': cpu / done,
                  # the same samples with the first one's own time, warm-up included: what a whole loop of them costs
                  'wholeLoopPerSecond': done / (first + sum(times[1:])), 'firstSampleSeconds': first,
                  'batchedBackwardPerSecond': a.n / batched}))
