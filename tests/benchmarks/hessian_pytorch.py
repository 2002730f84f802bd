"""PyTorch Python reference for bench_hessian: per-layer Hutchinson traces of a Quantscape
ResNet checkpoint, PyHessian-style (dataloader_hv_product: per batch, torch.autograd.grad of the
loss with create_graph, then the gradient of <g, v>, summed weighted by batch size / n), on the
subset bench_hessian wrote, with the same batch size and thread count.

Usage: hessian_pytorch.py CHECKPOINT SUBSET_BIN THREADS TRACE_SAMPLES [BATCH] [OURS_JSON]
With OURS_JSON (bench_hessian's figures) it also prints the comparison: speed-up and the
difference of each layer's estimates in combined standard errors.
"""
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qs_reference import load_resnet  # noqa: E402


def read_subset(path):
    with open(path, "rb") as f:
        blob = f.read()
    n, c, h, w = struct.unpack("<4Q", blob[:32])
    count = n * c * h * w
    images = torch.frombuffer(bytearray(blob[32:32 + 4 * count]), dtype=torch.float32)
    labels = torch.frombuffer(bytearray(blob[32 + 4 * count:32 + 4 * count + 8 * n]),
                              dtype=torch.int64)
    return images.reshape(n, c, h, w), labels


def hv_product(model, params, batches, n, v):
    """PyHessian's dataloader_hv_product: forward, gradient with create_graph, then Hv."""
    total = [torch.zeros_like(p) for p in params]
    for x, y in batches:
        loss = F.cross_entropy(model(x), y, reduction="sum") / n
        grads = torch.autograd.grad(loss, params, create_graph=True)
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=False)
        for t, h in zip(total, hv):
            t.add_(h.detach())
    return total


def main():
    checkpoint, subset_path = sys.argv[1], sys.argv[2]
    threads, samples = int(sys.argv[3]), int(sys.argv[4])
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 250
    ours_path = sys.argv[6] if len(sys.argv) > 6 else None
    torch.set_num_threads(threads if threads > 0 else os.cpu_count())
    torch.manual_seed(123)
    model = load_resnet(checkpoint)
    images, labels = read_subset(subset_path)
    n = images.shape[0]
    batches = [(images[i:i + batch], labels[i:i + batch]) for i in range(0, n, batch)]
    names = [k for k, p in model.named_parameters() if p.requires_grad]
    params = [p for p in model.parameters() if p.requires_grad]
    layers = [k[:-len(".weight")] for k, p in model.named_parameters()
              if k.endswith(".weight") and p.dim() in (2, 4)]
    index = {k: i for i, k in enumerate(names)}

    per_layer = {layer: [] for layer in layers}
    totals = []
    start = time.perf_counter()
    for _ in range(samples):
        v = [torch.randint_like(p, high=2) * 2 - 1 for p in params]
        hv = hv_product(model, params, batches, n, v)
        products = [float((a.double() * b.double()).sum()) for a, b in zip(v, hv)]
        totals.append(sum(products))
        for layer in layers:
            per_layer[layer].append(products[index[layer + ".weight"]])
    seconds = time.perf_counter() - start

    def mean_se(xs):
        m = sum(xs) / len(xs)
        if len(xs) < 2:
            return m, 0.0
        var = sum((x - m) ** 2 for x in xs) / (len(xs) - 1)
        return m, math.sqrt(var / len(xs))

    print(f"PyTorch {torch.__version__} Python reference, {n} images, batch {batch}, "
          f"{samples} Rademacher samples, threads={torch.get_num_threads()}")
    print(f"{'layer':<24} {'trace':>12} {'se':>10}")
    ref = {}
    for layer in layers:
        ref[layer] = mean_se(per_layer[layer])
        print(f"{layer:<24} {ref[layer][0]:>12.5g} {ref[layer][1]:>10.3g}")
    total = mean_se(totals)
    print(f"{'total':<24} {total[0]:>12.5g} {total[1]:>10.3g}")
    print(f"time: {seconds:.1f} s")

    if ours_path:
        with open(ours_path) as f:
            ours = json.load(f)
        print()
        print(f"ours vs PyTorch Python, per-layer Hutchinson traces ({samples} samples, {n} images)")
        print(f"{'layer':<24} {'ours':>12} {'PyTorch':>12} {'|diff|/se':>10}")
        worst = 0.0
        for row in ours["layers"]:
            r_mean, r_se = ref[row["layer"]]
            se = math.sqrt(row["se"] ** 2 + r_se ** 2)
            z = abs(row["trace"] - r_mean) / se if se > 0 else 0.0
            worst = max(worst, z)
            print(f"{row['layer']:<24} {row['trace']:>12.5g} {r_mean:>12.5g} {z:>10.2f}")
        se = math.sqrt(ours["trace_se"] ** 2 + total[1] ** 2)
        z = abs(ours["trace"] - total[0]) / se if se > 0 else 0.0
        print(f"{'total':<24} {ours['trace']:>12.5g} {total[0]:>12.5g} {z:>10.2f}")
        print(f"largest difference: {max(worst, z):.2f} combined standard errors")
        print(f"{'time':<24} {'seconds':>12} {'speed-up':>12}")
        print(f"{'PyTorch Python':<24} {seconds:>12.1f} {1.0:>12.2f}")
        for key, label in (("seconds_cached", "ours, cached graphs"),
                           ("seconds_recomputed", "ours, recomputed")):
            print(f"{label:<24} {ours[key]:>12.1f} {seconds / ours[key]:>12.2f}")


if __name__ == "__main__":
    main()
