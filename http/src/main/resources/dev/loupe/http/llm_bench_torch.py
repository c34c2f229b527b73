"""PyTorch peer of `loupe bench llm --gpu`: a random-init Llama of the same shapes as the benchmarked
GGUF model (transformers' LlamaForCausalLM, bf16, on the GPU), greedy decoding at batch 1 with its KV
cache: the prompt in one forward pass, then one token per forward pass.

Prints one JSON line: torch and transformers versions, device, prefill and decode tokens/s (medians of
the rounds). Exits 3 when torch, transformers or CUDA is missing.
"""
import argparse
import json
import statistics
import sys
import time


def main():
    p = argparse.ArgumentParser()
    for name in ("dim", "ff", "layers", "heads", "kv-heads", "head-dim", "vocab", "prompt-tokens", "decode-tokens", "rounds"):
        p.add_argument("--" + name, type=int, required=True)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--rms-eps", type=float, default=1e-6)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    try:
        import torch
        import transformers
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError as e:
        print(f"no PyTorch peer: {e}", file=sys.stderr)
        sys.exit(3)
    if not torch.cuda.is_available():
        print("no PyTorch peer: torch sees no CUDA device", file=sys.stderr)
        sys.exit(3)
    torch.manual_seed(a.seed)
    config = LlamaConfig(hidden_size=a.dim, intermediate_size=a.ff, num_hidden_layers=a.layers, num_attention_heads=a.heads,
                         num_key_value_heads=a.kv_heads, head_dim=a.head_dim, vocab_size=a.vocab,
                         max_position_embeddings=a.prompt_tokens + a.decode_tokens + 8, rope_theta=a.rope_theta,
                         rms_norm_eps=a.rms_eps, tie_word_embeddings=False)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config).to(torch.bfloat16).eval()
    prompt = torch.randint(3, a.vocab, (1, a.prompt_tokens), device="cuda")

    def round_():
        with torch.inference_mode():
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            out = model(prompt, use_cache=True)
            cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            torch.cuda.synchronize()
            t1 = time.perf_counter()
            for _ in range(a.decode_tokens):
                out = model(nxt, past_key_values=cache, use_cache=True)
                cache, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
            torch.cuda.synchronize()
            t2 = time.perf_counter()
        return a.prompt_tokens / (t1 - t0), a.decode_tokens / (t2 - t1)

    round_()  # warm-up
    rounds = [round_() for _ in range(a.rounds)]
    print(json.dumps({
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name(0),
        "prefill_tps": statistics.median(r[0] for r in rounds),
        "decode_tps": statistics.median(r[1] for r in rounds),
    }))


if __name__ == "__main__":
    main()
