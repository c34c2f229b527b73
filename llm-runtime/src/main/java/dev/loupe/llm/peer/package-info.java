/**
 * llama.cpp as a peer: {@link dev.loupe.llm.peer.LlamaCppOracle} binds the llama.cpp library that the optional
 * {@code de.kherud:llama} artifact bundles, through the Foreign Function &amp; Memory API, for the oracle tests
 * (tokens, logits, greedy continuations) and for {@code loupe bench llm} (timed prefill and decode).
 */
package dev.loupe.llm.peer;
