#!/usr/bin/python3
"""Reference for bench_step: the same ResNet-20 (option-B shortcuts, first/last layer 8-bit) with
LSQ W4A4 written the usual PyTorch way (grad-scale trick + round with a detached residual), timed
per training step at batch 128 with SGD momentum, in Debian's python3-torch.

Usage: lsq_step_pytorch.py THREADS [STEPS]. Prints a table: input, float ms, LSQ ms, LSQ/float.
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def grad_scale(x, scale):
    return (x - x * scale).detach() + x * scale


def round_pass(x):
    return (x.round() - x).detach() + x


class LsqQuantizer(nn.Module):
    def __init__(self, bits, signed):
        super().__init__()
        self.qn = 2 ** (bits - 1) if signed else 0
        self.qp = 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1
        self.step_size = nn.Parameter(torch.tensor(1.0))
        self.initialized = False

    def forward(self, x):
        if not self.initialized:
            with torch.no_grad():
                self.step_size.copy_(2 * x.abs().mean() / self.qp ** 0.5)
            self.initialized = True
        g = 1.0 / (x.numel() * self.qp) ** 0.5
        s = grad_scale(self.step_size, g)
        return round_pass(torch.clamp(x / s, -self.qn, self.qp)) * s


class QConv2d(nn.Conv2d):
    def __init__(self, *args, bits=0, input_signed=False, **kwargs):
        super().__init__(*args, bias=False, **kwargs)
        self.wq = LsqQuantizer(bits, True) if bits else None
        self.aq = LsqQuantizer(bits, input_signed) if bits else None

    def forward(self, x):
        w = self.wq(self.weight) if self.wq else self.weight
        x = self.aq(x) if self.aq else x
        return F.conv2d(x, w, None, self.stride, self.padding)


class QLinear(nn.Linear):
    def __init__(self, *args, bits=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.wq = LsqQuantizer(bits, True) if bits else None
        self.aq = LsqQuantizer(bits, False) if bits else None

    def forward(self, x):
        w = self.wq(self.weight) if self.wq else self.weight
        x = self.aq(x) if self.aq else x
        return F.linear(x, w, self.bias)


class Block(nn.Module):
    def __init__(self, cin, cout, stride, bits):
        super().__init__()
        self.conv1 = QConv2d(cin, cout, 3, stride=stride, padding=1, bits=bits)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = QConv2d(cout, cout, 3, padding=1, bits=bits)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(QConv2d(cin, cout, 1, stride=stride, bits=bits),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNet20(nn.Module):
    def __init__(self, in_channels, bits):
        super().__init__()
        edge = 8 if bits else 0
        self.conv1 = QConv2d(in_channels, 16, 3, padding=1, bits=edge, input_signed=True)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for stage, width in enumerate([16, 32, 64]):
            for b in range(3):
                layers.append(Block(cin, width, 2 if (b == 0 and stage > 0) else 1, bits))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.fc = QLinear(64, 10, bits=edge)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def step_ms(bits, channels, size, steps):
    torch.manual_seed(0)
    model = ResNet20(channels, bits).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(128, channels, size, size)
    y = torch.randint(0, 10, (128,))
    times = []
    for i in range(steps + 5):
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 5:
            times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads()
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    torch.set_num_threads(threads)
    print(f"PyTorch {torch.__version__} (Python) ResNet-20 training step, batch 128, "
          f"{threads} thread(s), median of {steps} steps")
    print(f"{'input':<14} {'float ms':>10} {'LSQ ms':>10} {'LSQ/float':>10}")
    for channels, size in [(1, 28), (3, 32)]:
        f = step_ms(0, channels, size, steps)
        q = step_ms(4, channels, size, steps)
        print(f"{f'{channels}x{size}x{size}':<14} {f:>10.1f} {q:>10.1f} {q / f:>10.3f}")


if __name__ == "__main__":
    main()
