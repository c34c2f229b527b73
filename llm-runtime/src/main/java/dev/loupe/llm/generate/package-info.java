/**
 * Text generation over a {@link dev.loupe.llm.generate.LanguageModelState} (implemented by the model package's
 * {@code Session}): the {@link dev.loupe.llm.generate.Generator} loop with stop strings and UTF-8-safe streaming,
 * the {@link dev.loupe.llm.generate.Sampler} (llama.cpp's penalties, top-k, top-p, min-p, temperature, seeded),
 * {@link dev.loupe.llm.generate.GenerationHook}s that stop or inject tokens mid-answer, and
 * {@link dev.loupe.llm.generate.JsonConstraint}, which masks logits so that the output is a document of a
 * {@link dev.loupe.llm.generate.JsonSchema}, and {@link dev.loupe.llm.generate.SpeculativeState}, speculative decoding
 * with a draft model as a state the generator drives like any other.
 */
package dev.loupe.llm.generate;
