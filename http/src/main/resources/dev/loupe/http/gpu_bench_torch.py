"""PyTorch peer of `loupe bench gpu`: the same N x D fp16 vectors and queries (the same hash
generator as GpuBench.java, computed on the GPU), exact top-k by matmul + topk.

Prints one JSON line: torch version, device, single-query p50/p99 ms, batched ms and queries/s,
and the top-k ids of the first queries for the cross-check. Exits 3 when torch or CUDA is missing.
"""
import argparse
import json
import statistics
import sys
import time

MASK = 0xFFFFFFFF


def hash32(x):
    # lowbias32-style integer hash on int64 tensors holding 32-bit values; every product stays < 2^63.
    x = ((x >> 16) ^ x) * 0x45D9F3B & MASK
    x = ((x >> 16) ^ x) * 0x45D9F3B & MASK
    return (x >> 16) ^ x


def values(torch, rows, dim, seed, device):
    """Components of `rows` (an int64 tensor of row numbers) as fp16, as GpuBench.value computes them."""
    r = hash32((rows.to(torch.int64) + seed) & MASK).unsqueeze(1)
    i = torch.arange(dim, device=device, dtype=torch.int64).unsqueeze(0)
    x = hash32((r + i * 0x9E3779B1) & MASK)
    return (x.to(torch.float64) / 4294967296.0 * 2.0 - 1.0).to(torch.float32).to(torch.float16)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--dim", type=int, required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--queries", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--query-seed", type=int, required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--check", type=int, default=4)
    a = p.parse_args()
    try:
        import torch
    except ImportError:
        print("torch is not installed", file=sys.stderr)
        return 3
    if not torch.cuda.is_available():
        print("torch sees no CUDA device", file=sys.stderr)
        return 3
    dev = torch.device("cuda")
    data = torch.empty((a.n, a.dim), dtype=torch.float16, device=dev)
    chunk = max(1, (1 << 28) // (8 * a.dim))
    for start in range(0, a.n, chunk):
        end = min(a.n, start + chunk)
        data[start:end] = values(torch, torch.arange(start, end, device=dev), a.dim, a.seed, dev)
    queries = values(torch, torch.arange(0, max(a.batch, a.queries), device=dev), a.dim, a.query_seed, dev)
    # Scores of a row chunk at a time keep the [batch x chunk] score matrix within a few GiB.
    rows_per_chunk = max(a.k, min(a.n, (4 << 30) // (2 * max(1, a.batch))))

    def search(q):
        best_s, best_i = None, None
        for start in range(0, a.n, rows_per_chunk):
            s = q @ data[start:start + rows_per_chunk].T
            v, i = torch.topk(s.float(), min(a.k, s.shape[1]), dim=1)
            i = i + start
            if best_s is None:
                best_s, best_i = v, i
            else:
                v2, j = torch.topk(torch.cat([best_s, v], 1), a.k, dim=1)
                best_i = torch.gather(torch.cat([best_i, i], 1), 1, j)
                best_s = v2
        return best_s, best_i

    for _ in range(3):
        search(queries[:1])
        search(queries[:a.batch])
    torch.cuda.synchronize()
    single = []
    for j in range(a.queries):
        t = time.perf_counter()
        search(queries[j:j + 1])
        torch.cuda.synchronize()
        single.append((time.perf_counter() - t) * 1e3)
    batched = []
    for _ in range(a.rounds):
        t = time.perf_counter()
        search(queries[:a.batch])
        torch.cuda.synchronize()
        batched.append((time.perf_counter() - t) * 1e3)
    _, ids = search(queries[:a.check])
    single.sort()
    out = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0),
        "single_p50_ms": statistics.median(single),
        "single_p99_ms": single[min(len(single) - 1, int(0.99 * len(single)))],
        "batch_ms": statistics.median(batched),
        "batch_qps": a.batch / (statistics.median(batched) / 1e3),
        "check_ids": ids.cpu().tolist(),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
