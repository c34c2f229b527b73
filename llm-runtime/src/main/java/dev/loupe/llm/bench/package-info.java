/**
 * What benchmarks and tests of the engine share: {@link dev.loupe.llm.bench.RandomModels}, which writes seeded
 * random-weight GGUF models of any supported shape and tensor type (the oracle tests' small models, {@code loupe
 * bench llm}'s 1B-parameter llama).
 */
package dev.loupe.llm.bench;
