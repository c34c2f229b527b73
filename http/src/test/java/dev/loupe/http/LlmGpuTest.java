package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.gpu.CudaDriver;
import dev.loupe.gpu.FakeCuda;
import dev.loupe.gpu.Gpu;
import dev.loupe.llm.bench.RandomModels;
import dev.loupe.llm.gguf.GgmlType;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe generate --gpu} and {@code loupe bench llm --gpu} on the fake CUDA driver, with a
 * seeded tiny random-weight model.
 */
class LlmGpuTest {
  @TempDir Path dir;

  private record Result(int code, String out, String err) {}

  private static Result main(String... args) throws Exception {
    return mainWithInput("", args);
  }

  private static Result mainWithInput(String stdin, String... args) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Main.run(args, Map.of("HOME", "/home/ada"), new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), o, e);
    }
    return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void generate_with_gpu_prints_the_cpu_backends_greedy_text_whichever_backend_it_got() throws Exception {
    // Gpu.detect() is cached per JVM: on the fake driver when this test probes first, else whatever an earlier test found.
    System.setProperty(CudaDriver.LIBRARY_PROPERTY, FakeCuda.library());
    RandomModels.Shape shape = RandomModels.preset("tiny", GgmlType.Q8_0, 3);
    Path gguf = dir.resolve(shape.fileName("tiny"));
    RandomModels.write(shape, gguf);
    String[] common = {"generate", "--model", gguf.toString(), "--prompt", "the cat sat", "--temperature", "0", "--max-tokens", "12",
        "--threads", "1", "--kv", "f16", "--activations", "fp32"};
    Result cpu = main(common);
    String[] withGpu = java.util.Arrays.copyOf(common, common.length + 1);
    withGpu[common.length] = "--gpu";
    Result gpu = main(withGpu);
    assertEquals(0, gpu.code(), gpu.err());
    assertEquals(cpu.out(), gpu.out());
    assertTrue(gpu.err().contains("; on the GPU") || gpu.err().contains("; on the CPU (no GPU backend"), gpu.err());
    assertTrue(!cpu.err().contains("; on the"), cpu.err());
  }

  @Test
  void chat_with_gpu_answers_every_turn_as_the_cpu_backend_does() throws Exception {
    System.setProperty(CudaDriver.LIBRARY_PROPERTY, FakeCuda.library());
    RandomModels.Shape shape = RandomModels.preset("tiny", GgmlType.Q4_0, 5);
    Path gguf = dir.resolve(shape.fileName("tiny"));
    RandomModels.write(shape, gguf);
    // two turns: the second prefills only its new tokens on top of the kept cache (batched on the GPU)
    String turns = "the cat sat on the mat\nand then what happened next\n/quit\n";
    String[] common = {"chat", "--model", gguf.toString(), "--temperature", "0", "--max-tokens", "10", "--threads", "1", "--kv", "f16", "--activations", "fp32"};
    Result cpu = mainWithInput(turns, common);
    String[] withGpu = java.util.Arrays.copyOf(common, common.length + 1);
    withGpu[common.length] = "--gpu";
    Result gpu = mainWithInput(turns, withGpu);
    assertEquals(0, cpu.code(), cpu.err());
    assertEquals(0, gpu.code(), gpu.err());
    assertTrue(!cpu.out().isBlank(), cpu.err());
    assertEquals(cpu.out(), gpu.out());
    System.out.println("chat --gpu: " + gpu.err().lines().filter(l -> l.startsWith("loupe chat:")).findFirst().orElse(gpu.err()));
    assertTrue(gpu.err().contains("; on the GPU)") || gpu.err().contains("; on the CPU (no GPU backend"), gpu.err());
  }

  /**
   * serve --gpu's chats: two turns of one chat on the fake GPU answer as the CPU backend does (the
   * follow-up prefilling only its new tokens on top of the device cache); a chat dropped while it
   * answers keeps its session to the end of the turn, which then frees it; closing the engine frees
   * the device model.
   */
  @Test
  void serve_chats_on_the_gpu_answer_as_the_cpu_backend_does_and_free_their_device_sessions() throws Exception {
    RandomModels.Shape shape = RandomModels.preset("tiny", GgmlType.Q8_0, 9);
    Path gguf = dir.resolve(shape.fileName("tiny"));
    RandomModels.write(shape, gguf);
    ChatOptions options = new ChatOptions(1024, 64L << 20, dev.loupe.llm.tensor.ActivationMode.FP32);
    long before = FakeCuda.liveAllocations();
    dev.loupe.rag.chat.ChatEngine cpu = Main.openChat(gguf, null, options);
    dev.loupe.rag.chat.ChatEngine gpu = Main.openChat(gguf, null, options, Gpu.probe(FakeCuda.library()));
    try {
      long withModel = FakeCuda.liveAllocations();
      assertTrue(withModel > before, "the device model is uploaded");
      dev.loupe.rag.chat.ChatRequest first = dev.loupe.rag.chat.ChatRequest.of("what did the cat see",
          dev.loupe.rag.RetrievalOptions.defaults(200), 8).withRetrieve(false);
      var a1 = cpu.ask(first, e -> {}, () -> false).done();
      var b1 = gpu.ask(first, e -> {}, () -> false).done();
      assertEquals(a1.answer(), b1.answer());
      assertTrue(FakeCuda.liveAllocations() > withModel, "the chat's session holds device memory");
      dev.loupe.rag.chat.ChatRequest second = dev.loupe.rag.chat.ChatRequest.of("and then", dev.loupe.rag.RetrievalOptions.defaults(200), 8)
          .withRetrieve(false);
      var a2 = cpu.ask(second.inChat(a1.chatId()), e -> {}, () -> false).done();
      // Dropped from another thread at its first token: the turn goes on with its session, then frees it.
      var b2 = gpu.ask(second.inChat(b1.chatId()), e -> {
        if (e instanceof dev.loupe.rag.chat.ChatEvent.Token && gpu.sessionStats().conversations() == 1) {
          Thread t = Thread.ofPlatform().start(() -> gpu.drop(b1.chatId()));
          try {
            t.join();
          } catch (InterruptedException x) {
            throw new IllegalStateException(x);
          }
        }
      }, () -> false).done();
      assertEquals(a2.answer(), b2.answer());
      assertEquals(a2.timings().prefillTokens(), b2.timings().prefillTokens());
      assertEquals(a2.timings().cachedTokens(), b2.timings().cachedTokens());
      assertTrue(b2.timings().cachedTokens() > 0, "the follow-up reused the cache");
      assertEquals(0, gpu.sessionStats().conversations());
      assertEquals(withModel, FakeCuda.liveAllocations(), "the dropped chat's session was freed after its turn");
      // A device out of memory for a new chat's cache: that turn fails with the reason and what to change.
      FakeCuda.inject(FakeCuda.ALLOCATION, dev.loupe.gpu.CudaException.OUT_OF_MEMORY, 1);
      IllegalStateException full = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
          () -> gpu.ask(first, e -> {}, () -> false));
      assertTrue(full.getMessage().startsWith("the GPU has no room for another chat's KV cache of ")
          && full.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY") && full.getMessage().contains("--chat-memory"), full.getMessage());
      assertEquals(a1.answer(), gpu.ask(first, e -> {}, () -> false).done().answer(), "the next chat runs");
    } finally {
      cpu.close();
      cpu.model().close();
      gpu.close();
      gpu.model().close();
    }
    assertEquals(before, FakeCuda.liveAllocations(), "closing the engine frees the device model");
  }

  @Test
  void generate_with_gpu_and_a_draft_speculates_to_the_plain_greedy_text() throws Exception {
    System.setProperty(CudaDriver.LIBRARY_PROPERTY, FakeCuda.library());
    RandomModels.Shape target = RandomModels.preset("tiny", GgmlType.Q8_0, 3), draft = RandomModels.preset("tiny", GgmlType.Q4_0, 3);
    Path t = dir.resolve(target.fileName("tiny")), d = dir.resolve(draft.fileName("tiny"));
    RandomModels.write(target, t);
    RandomModels.write(draft, d);
    String[] common = {"generate", "--model", t.toString(), "--prompt", "the cat sat", "--temperature", "0", "--max-tokens", "16",
        "--threads", "1", "--kv", "f16", "--activations", "fp32"};
    Result plain = main(common);
    String[] speculative = java.util.Arrays.copyOf(common, common.length + 3);
    speculative[common.length] = "--gpu";
    speculative[common.length + 1] = "--draft";
    speculative[common.length + 2] = d.toString();
    Result gpu = main(speculative);
    assertEquals(0, gpu.code(), gpu.err());
    assertEquals(plain.out(), gpu.out());
    assertTrue(gpu.err().contains("draft tokens accepted"), gpu.err());
    assertTrue(gpu.err().contains("; the draft on the"), gpu.err());
  }

  @Test
  void bench_llm_gpu_reports_decode_rates_against_the_bound_and_agreement_with_the_cpu() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
    int code = LlmGpuBench.run(List.of("--random", "tiny", "--quant", "q4_0", "--prompt-tokens", "8", "--decode-tokens", "8",
            "--rounds", "1", "--threads", "1", "--cache", dir.toString(), "--python", "/nonexistent/python3"), Gpu.probe(FakeCuda.library()),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    String text = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
    assertTrue(text.contains("decode bound"), text);
    assertTrue(text.contains("with the graph"), text);
    assertTrue(text.contains("greedy tokens: the first 8 of 8 agree with the CPU backend"), text);
    String json = text.strip().lines().reduce((a, b) -> b).orElseThrow();
    assertTrue(json.startsWith("{\"model\": ") && json.contains("\"greedy_agreement\": 8"), json);
    assertTrue(json.contains("\"torch\": \"skipped: cannot run /nonexistent/python3"), json);
  }

  @Test
  void bench_llm_gpu_without_a_gpu_says_why_and_exits_1() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = LlmGpuBench.run(List.of("--random", "tiny"), Gpu.probe("/nonexistent/no-gpu-driver.so"),
        new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(1, code);
    assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("loupe bench llm --gpu: no GPU to benchmark (CPU: "), err.toString());
  }
}
