"""PyTorch Python reference for bench_landscape: the straightforward loss-landscape loop (set the
parameters for each point, evaluate the subset under no_grad) on the directions, subset and grid
that bench_landscape wrote, timed with the same thread count; compares its values with ours.

Usage: /usr/bin/python3 tests/benchmarks/landscape_pytorch.py WORK_DIR/landscape_bench.safetensors
"""
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qs_reference import load_resnet, read_safetensors  # noqa: E402


def main():
    path = sys.argv[1]
    tensors, meta = read_safetensors(path)
    threads = int(meta["threads"])
    torch.set_num_threads(threads)
    grid = int(meta["grid"])
    batch = int(meta["batch_size"])
    lo, hi = (float(v) for v in meta["range"].split(":"))
    model = load_resnet(meta["checkpoint"])
    images, labels = tensors["images"], tensors["labels"]
    params = dict(model.named_parameters())
    names = [k[3:] for k in tensors if k.startswith("dx/")]
    start = {n: params[n].detach().clone() for n in names}
    dx = {n: tensors["dx/" + n] for n in names}
    dy = {n: tensors["dy/" + n] for n in names}
    # As the engine spaces them: exact ends, lo + (hi - lo) * (i / (n - 1)) between.
    coords = [lo + (hi - lo) * (i / (grid - 1)) for i in range(grid - 1)] + [hi]

    losses, accs = [], []
    t0 = time.perf_counter()
    with torch.no_grad():
        for b in coords:
            for a in coords:
                for n in names:
                    params[n].copy_(start[n] + a * dx[n] + b * dy[n])
                loss, correct = 0.0, 0
                for i in range(0, len(labels), batch):
                    logits = model(images[i:i + batch])
                    y = labels[i:i + batch]
                    loss += F.cross_entropy(logits, y, reduction="sum").item()
                    correct += (logits.argmax(1) == y).sum().item()
                losses.append(loss / len(labels))
                accs.append(correct / len(labels))
    ms = 1000.0 * (time.perf_counter() - t0) / len(losses)

    ours = tensors["ours/loss"].tolist()
    ours_acc = tensors["ours/accuracy"].tolist()
    rel = max(abs(o - r) / max(1e-12, abs(r)) for o, r in zip(ours, losses))
    acc_gap = max(abs(o - r) for o, r in zip(ours_acc, accs))
    points_ms = float(meta["ours_points_ms"])
    intra_ms = float(meta["ours_intra_op_ms"])
    print(f"PyTorch {torch.__version__} reference, {len(losses)} points, threads={threads}")
    print(f"{'implementation':<24} {'ms per point':>12} {'speed-up':>9}")
    print(f"{'PyTorch Python':<24} {ms:12.0f} {1.0:9.2f}")
    print(f"{'ours, points':<24} {points_ms:12.0f} {ms / points_ms:9.2f}")
    print(f"{'ours, intra-op':<24} {intra_ms:12.0f} {ms / intra_ms:9.2f}")
    print(f"surfaces agree: max relative loss difference {rel:.2e}, "
          f"max accuracy difference {acc_gap:.4f}")


if __name__ == "__main__":
    main()
