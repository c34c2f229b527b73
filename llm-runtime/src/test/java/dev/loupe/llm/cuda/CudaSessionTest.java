package dev.loupe.llm.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.gpu.CudaException;
import dev.loupe.gpu.FakeCuda;
import dev.loupe.gpu.Gpu;
import dev.loupe.gpu.GpuContext;
import dev.loupe.llm.bench.RandomModels;
import dev.loupe.llm.generate.GenerationOptions;
import dev.loupe.llm.generate.Generator;
import dev.loupe.llm.generate.SpeculativeState;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.model.KvCacheType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelConfig;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.model.SessionOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The CUDA backend on the fake driver (whose kernels are C references of the .cu contracts): a
 * seeded random-weight model decodes to the CPU backend's greedy tokens, with logits within {@link
 * #LOGIT_BOUND} ({@link #Q4_K_LOGIT_BOUND} for Q4_K); graph replay equals direct launches bit for bit; unsupported models and missing
 * devices fall back to the CPU.
 *
 * <p>The bound: both backends compute each step in fp32 with an fp16 KV cache; they differ in the
 * order of float additions (ggml-block sums per lane on the GPU, the CPU kernels' own order), the
 * RMSNorm sum (double on the CPU) and the sine/cosine of RoPE (float on the GPU). Over 24 tokens of
 * a tiny model whose logits spread over several units, that stays below 1e-3 absolute; the
 * measured maximum is printed.
 */
class CudaSessionTest {
  static final float LOGIT_BOUND = 1e-3f;
  /**
   * Q4_K's bound: the kernels sum a sub-block as d·scale·Σ(q·x) − dmin·min·Σx, the CPU backend
   * dequantizes first and then sums, so the roundings differ more (1.8e-3 seen on logits of ~23).
   */
  static final float Q4_K_LOGIT_BOUND = 4e-3f;

  static float bound(GgmlType type) {
    return type == GgmlType.Q4_K ? Q4_K_LOGIT_BOUND : LOGIT_BOUND;
  }
  static final int STEPS = 24;

  @TempDir Path dir;

  private Path model(GgmlType type, ModelConfig.Architecture arch, boolean tied) throws IOException {
    // 2 layers, GQA 4/2 heads of 32 (of 64 for Q4_K, whose rows are multiples of 256), vocabulary 320
    boolean k = type == GgmlType.Q4_K;
    RandomModels.Shape s = new RandomModels.Shape(arch, k ? 256 : 128, k ? 512 : 256, 2, 4, 2, 0, 320, type, tied, 7);
    Path p = dir.resolve(s.fileName("test"));
    RandomModels.write(s, p);
    return p;
  }

  private static int[] prompt(int vocab) {
    Random r = new Random(11);
    int[] t = new int[6];
    t[0] = 1;
    for (int i = 1; i < t.length; i++) t[i] = 3 + r.nextInt(vocab - 3);
    return t;
  }

  /**
   * Appends the prompt to both, then decodes {@code steps} greedy tokens on both: each step's
   * logits within {@code bound} of the CPU's and the same token. Returns the largest difference.
   */
  private static float decodeAlongside(Model model, Session cpu, CudaSession gpu, int steps, float bound) {
    int[] prompt = prompt(model.config().vocabSize());
    cpu.append(prompt);
    gpu.append(prompt);
    float worst = 0;
    for (int i = 0; i < steps; i++) {
      float[] a = cpu.logits(), b = gpu.logits();
      for (int j = 0; j < a.length; j++) {
        float diff = Math.abs(a[j] - b[j]);
        assertTrue(diff < bound, "step " + i + ", logit " + j + ": " + a[j] + " vs " + b[j]);
        worst = Math.max(worst, diff);
      }
      int next = argmax(a);
      assertEquals(next, argmax(b), "greedy token " + i);
      cpu.append(next);
      gpu.append(next);
    }
    return worst;
  }

  private static int argmax(float[] a) {
    int best = 0;
    for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
    return best;
  }

  @ParameterizedTest
  @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K"})
  void greedyDecodingOnTheFakeGpuGivesTheCpuBackendsTokensWithLogitsWithinTheBound(GgmlType type) throws IOException {
    Gpu.Available gpu = FakeCuda.gpu();
    SessionOptions options = SessionOptions.of(64).withKvCacheType(KvCacheType.F16);
    try (Model model = Model.load(model(type, ModelConfig.Architecture.LLAMA, false));
        CudaModel cm = CudaModel.open(model, gpu); CudaSession gpuSession = cm.newSession(options)) {
      Session cpu = model.newSession(options);
      float worst = decodeAlongside(model, cpu, gpuSession, STEPS, bound(type));
      System.out.printf("%s: max |logit difference| over %d tokens %.2e%n", type, STEPS, worst);
      assertArrayEquals(cpu.tokens(), gpuSession.tokens());
    }
  }

  @ParameterizedTest
  @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K"})
  void onARealGpuGreedyTokensMatchTheCpuBackend(GgmlType type) throws IOException {
    Gpu.Detection d = Gpu.probe(dev.loupe.gpu.CudaDriver.DEFAULT_LIBRARY);
    assumeTrue(d instanceof Gpu.Available, () -> "skipped: needs a real GPU (" + d.describe() + ")");
    SessionOptions options = SessionOptions.of(64).withKvCacheType(KvCacheType.F16);
    try (Model model = Model.load(model(type, ModelConfig.Architecture.LLAMA, false));
        CudaModel cm = CudaModel.open(model, (Gpu.Available) d); CudaSession g = cm.newSession(options)) {
      decodeAlongside(model, model.newSession(options), g, STEPS, bound(type));
    }
  }

  @Test
  void replayingTheCapturedGraphGivesExactlyTheLogitsOfDirectLaunches() throws IOException {
    Gpu.Available gpu = FakeCuda.gpu();
    SessionOptions options = SessionOptions.of(32);
    try (Model model = Model.load(model(GgmlType.Q8_0, ModelConfig.Architecture.LLAMA, false));
        CudaModel cm = CudaModel.open(model, gpu);
        CudaSession graph = cm.newSession(options, true);
        CudaSession direct = cm.newSession(options, false)) {
      assertTrue(graph.usesGraph());
      int[] prompt = prompt(model.config().vocabSize());
      long before = FakeCuda.launches();
      graph.append(prompt);
      long perStep = (FakeCuda.launches() - before) / prompt.length;
      direct.append(prompt);
      for (int i = 0; i < 8; i++) {
        float[] a = graph.logits(), b = direct.logits();
        assertArrayEquals(a, b);
        int next = argmax(a);
        graph.append(next);
        direct.append(next);
      }
      assertTrue(perStep > 2L * model.config().layers(), "kernels per replayed step: " + perStep);
    }
  }

  /**
   * A 40-token prompt prefilled in batches of 12 (three full passes and one of 4, none a multiple of
   * the matmul tile of 8) leaves the logits and the KV cache of 40 single decode steps, bit for bit:
   * the logits after the prompt and after 8 greedy tokens decoded on top of the cache are equal.
   */
  @ParameterizedTest
  @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K"})
  void aBatchedPrefillLeavesExactlyTheLogitsAndCacheOfSingleSteps(GgmlType type) throws IOException {
    prefillEqualsSteps(type, ModelConfig.Architecture.LLAMA);
  }

  @ParameterizedTest
  @EnumSource(value = ModelConfig.Architecture.class, names = {"QWEN2", "QWEN3"})
  void aBatchedPrefillWithBiasesAndQkNormsLeavesExactlyTheLogitsOfSingleSteps(ModelConfig.Architecture arch) throws IOException {
    prefillEqualsSteps(GgmlType.Q8_0, arch);
  }

  private void prefillEqualsSteps(GgmlType type, ModelConfig.Architecture arch) throws IOException {
    SessionOptions options = SessionOptions.of(64);
    try (Model model = Model.load(model(type, arch, false)); CudaModel cm = CudaModel.open(model, FakeCuda.gpu());
        CudaSession batched = new CudaSession(cm, options, true, 12); CudaSession single = new CudaSession(cm, options, true, 1)) {
      Random r = new Random(5);
      int[] prompt = new int[40];
      for (int i = 0; i < prompt.length; i++) prompt[i] = r.nextInt(model.config().vocabSize());
      long before = FakeCuda.launches();
      batched.append(prompt);
      long batchedLaunches = FakeCuda.launches() - before;
      before = FakeCuda.launches();
      single.append(prompt);
      long singleLaunches = FakeCuda.launches() - before;
      for (int i = 0; i < 8; i++) {
        float[] a = batched.logits(), b = single.logits();
        assertArrayEquals(b, a, "logits after " + batched.position() + " tokens");
        int next = argmax(a);
        batched.append(next);
        single.append(next);
      }
      assertArrayEquals(single.tokens(), batched.tokens());
      // four passes of about one launch per kernel against forty decode steps
      assertTrue(batchedLaunches * 5 < singleLaunches, "launches: batched " + batchedLaunches + ", single steps " + singleLaunches);
    }
  }

  /**
   * appendWithLogits (speculative verification) returns, row by row, the logits single steps give,
   * bit for bit, across passes of 12; and speculative decoding with a Q4_0 draft, both on the GPU,
   * generates exactly the target's plain greedy tokens.
   */
  @Test
  void everyRowsLogitsOfABatchEqualSingleStepsAndSpeculationOnTheGpuKeepsTheGreedyTokens() throws IOException {
    SessionOptions options = SessionOptions.of(64);
    Path targetFile = model(GgmlType.Q8_0, ModelConfig.Architecture.LLAMA, false);
    RandomModels.Shape q4 = new RandomModels.Shape(ModelConfig.Architecture.LLAMA, 128, 256, 2, 4, 2, 0, 320, GgmlType.Q4_0, false, 7);
    Path draftFile = dir.resolve(q4.fileName("draft"));
    RandomModels.write(q4, draftFile);
    try (Model model = Model.load(targetFile); Model draftModel = Model.load(draftFile);
        CudaModel cm = CudaModel.open(model, FakeCuda.gpu()); CudaModel dm = CudaModel.open(draftModel, FakeCuda.gpu());
        CudaSession batched = new CudaSession(cm, options, true, 12); CudaSession single = new CudaSession(cm, options, true, 1)) {
      int[] tokens = new int[30];
      Random r = new Random(3);
      for (int i = 0; i < tokens.length; i++) tokens[i] = r.nextInt(320);
      float[][] rows = batched.appendWithLogits(tokens);
      for (int i = 0; i < tokens.length; i++) {
        single.append(tokens[i]);
        assertArrayEquals(single.logits(), rows[i], "row " + i);
      }
      assertArrayEquals(single.logits(), batched.logits());

      int[] prompt = prompt(320);
      GenerationOptions greedy = GenerationOptions.greedy(20);
      int[] expected;
      try (CudaSession plain = cm.newSession(options)) {
        expected = new Generator(plain, model.tokenizer()).generate(prompt, greedy).tokens();
      }
      try (CudaSession target = cm.newSession(options); CudaSession draft = dm.newSession(options)) {
        SpeculativeState state = new SpeculativeState(target, draft, new SpeculativeState.Options(4, false));
        assertArrayEquals(expected, new Generator(state, model.tokenizer()).generate(prompt, greedy).tokens());
        assertTrue(state.stats().drafted() > 0, "the draft guessed");
      }
    }
  }

  @Test
  void aTiedQ4KModelLooksUpDequantizedRowsAndMultipliesByItsBlocksAsTheCpuBackendDoes() throws IOException {
    // The lookup kernel reads no K-quant rows, so the table goes up as fp32 and, tied, its blocks again for the output.
    SessionOptions options = SessionOptions.of(64).withKvCacheType(KvCacheType.F16);
    try (Model model = Model.load(model(GgmlType.Q4_K, ModelConfig.Architecture.LLAMA, true));
        CudaModel cm = CudaModel.open(model, FakeCuda.gpu()); CudaSession g = cm.newSession(options)) {
      assertEquals(dev.loupe.gpu.LlmKernels.TableType.F32, cm.embeddingType());
      decodeAlongside(model, model.newSession(options), g, 8, Q4_K_LOGIT_BOUND);
    }
  }

  @Test
  void truncatingAndDecodingAgainGivesTheLogitsOfTheFirstPass() throws IOException {
    try (Model model = Model.load(model(GgmlType.Q4_0, ModelConfig.Architecture.LLAMA, true));
        CudaModel cm = CudaModel.open(model, FakeCuda.gpu()); CudaSession s = cm.newSession(SessionOptions.of(32))) {
      int[] prompt = prompt(model.config().vocabSize());
      s.append(prompt);
      float[] full = s.logits();
      s.truncate(3);
      float[] three = s.logits();
      s.append(prompt[3], prompt[4], prompt[5]);
      assertArrayEquals(full, s.logits());
      s.truncate(3);
      assertArrayEquals(three, s.logits());
      assertTrue(assertThrows(IllegalArgumentException.class, () -> s.truncate(4)).getMessage().contains("cannot truncate to position 4"));
      assertTrue(assertThrows(IllegalArgumentException.class, () -> s.append(320)).getMessage()
          .contains("token 320 is outside the vocabulary 0..319"));
    }
  }

  @ParameterizedTest
  @EnumSource(value = ModelConfig.Architecture.class, names = {"QWEN2", "QWEN3"})
  void biasesAndQkNormsMatchTheCpuBackendToo(ModelConfig.Architecture arch) throws IOException {
    SessionOptions options = SessionOptions.of(32).withKvCacheType(KvCacheType.F16);
    try (Model model = Model.load(model(GgmlType.Q8_0, arch, false));
        CudaModel cm = CudaModel.open(model, FakeCuda.gpu()); CudaSession g = cm.newSession(options)) {
      Session cpu = model.newSession(options);
      int[] prompt = prompt(model.config().vocabSize());
      cpu.append(prompt);
      g.append(prompt);
      for (int i = 0; i < 8; i++) {
        float[] a = cpu.logits(), b = g.logits();
        for (int j = 0; j < a.length; j++) assertTrue(Math.abs(a[j] - b[j]) < LOGIT_BOUND, "logit " + j + ": " + a[j] + " vs " + b[j]);
        cpu.append(argmax(a));
        g.append(argmax(b));
      }
    }
  }

  @Test
  void aModelWithOtherThanQ8OrQ4MatricesFallsBackToTheCpuWithTheReason() throws IOException {
    try (Model model = Model.load(model(GgmlType.F16, ModelConfig.Architecture.LLAMA, false));
        CudaBackend.Selected s = CudaBackend.open(model, SessionOptions.of(16), true, FakeCuda.gpu())) {
      assertFalse(s.onGpu());
      assertInstanceOf(Session.class, s.state());
      assertTrue(s.description().startsWith("CPU: ") && s.description().contains("is F16") && s.description().contains("Q8_0, Q4_0 and Q4_K"),
          s.description());
    }
  }

  @Test
  void noDeviceFallsBackToTheCpuAndAnAvailableOneRunsOnTheGpu() throws IOException {
    try (Model model = Model.load(model(GgmlType.Q8_0, ModelConfig.Architecture.LLAMA, false))) {
      try (CudaBackend.Selected s = CudaBackend.open(model, SessionOptions.of(16), true,
          new Gpu.Unavailable("the driver library does not open"))) {
        assertFalse(s.onGpu());
        assertEquals("CPU: LLM decoding on the CPU backend (the driver library does not open)", s.description());
      }
      try (CudaBackend.Selected s = CudaBackend.open(model, SessionOptions.of(16), true, FakeCuda.gpu())) {
        assertTrue(s.onGpu());
        assertInstanceOf(CudaSession.class, s.state());
        assertTrue(s.description().startsWith("GPU: llama decoding on "), s.description());
      }
      try (CudaBackend.Selected s = CudaBackend.open(model, SessionOptions.of(16), false, FakeCuda.gpu())) {
        assertFalse(s.onGpu());
      }
    }
  }

  @Test
  void outOfDeviceMemoryWhileUploadingFallsBackAndFreesWhatWasAllocated() throws IOException {
    try (Model model = Model.load(model(GgmlType.Q8_0, ModelConfig.Architecture.LLAMA, false))) {
      Gpu.Available gpu = FakeCuda.gpu();
      long live = FakeCuda.liveAllocations();
      try (GpuContext ctx = GpuContext.open(gpu)) {
        FakeCuda.inject(FakeCuda.ALLOCATION, CudaException.OUT_OF_MEMORY, 1);
        String message = assertThrows(CudaException.class, () -> CudaModel.upload(model, ctx)).getMessage();
        assertTrue(message.contains(FakeCuda.ALLOCATION) && message.contains("CUDA_ERROR_OUT_OF_MEMORY"), message);
      }
      assertEquals(live, FakeCuda.liveAllocations());
      FakeCuda.inject(FakeCuda.ALLOCATION, CudaException.OUT_OF_MEMORY, 1);
      try (CudaBackend.Selected s = CudaBackend.open(model, SessionOptions.of(16), true, gpu)) {
        assertFalse(s.onGpu());
        assertTrue(s.description().contains("CUDA_ERROR_OUT_OF_MEMORY"), s.description());
      }
      assertEquals(live, FakeCuda.liveAllocations());
    }
  }

  @Test
  void aContextBeyondTheAttentionKernelsLimitIsRefusedNamingIt() throws IOException {
    try (Model model = Model.load(model(GgmlType.Q8_0, ModelConfig.Architecture.LLAMA, false));
        CudaModel cm = CudaModel.open(model, FakeCuda.gpu())) {
      String message = assertThrows(IllegalArgumentException.class, () -> cm.newSession(SessionOptions.of(20_000))).getMessage();
      assertTrue(message.contains("20000 positions exceeds the backend's 12000"), message);
    }
  }
}
