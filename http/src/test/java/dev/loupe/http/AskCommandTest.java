package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.llm.bench.RandomModels;
import dev.loupe.llm.gguf.GgmlType;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loupe ask} and {@code loupe serve --llm}: parsing, and one question answered end to end by a random-weight model. */
class AskCommandTest {
  private static final Map<String, String> ENV = Map.of("HOME", "/home/ada");

  @TempDir Path tmp;

  @Test
  void ask_takes_the_question_words_and_its_options_and_needs_a_model() {
    Command.Ask ask = assertInstanceOf(Command.Ask.class, Command.parse(
        List.of("ask", "what", "is", "in", "the", "report?", "--llm", "/m/q.gguf", "--data", "/d", "--max-tokens", "64",
            "--no-retrieval"), ENV));
    assertEquals("what is in the report?", ask.question());
    assertEquals(Path.of("/m/q.gguf"), ask.llm());
    assertEquals(Path.of("/d"), ask.dataDir());
    assertEquals(64, ask.maxTokens());
    assertEquals(false, ask.retrieval());

    IllegalArgumentException noModel = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> Command.parse(List.of("ask", "why?"), ENV));
    assertTrue(noModel.getMessage().contains("--llm MODEL.gguf"), noModel.getMessage());
    Command.Ask fromEnv = assertInstanceOf(Command.Ask.class,
        Command.parse(List.of("ask", "why?"), Map.of("HOME", "/h", "LOUPE_LLM", "/m/env.gguf")));
    assertEquals(Path.of("/m/env.gguf"), fromEnv.llm());
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> Command.parse(List.of("ask", "--llm", "/m/q.gguf"), ENV));
  }

  @Test
  void serve_takes_llm_or_loupe_llm_and_runs_without_one() {
    assertEquals(Path.of("/m/q.gguf"), assertInstanceOf(Command.Serve.class,
        Command.parse(List.of("serve", "--llm", "/m/q.gguf"), ENV)).llm());
    assertEquals(Path.of("/m/e.gguf"), assertInstanceOf(Command.Serve.class,
        Command.parse(List.of("serve"), Map.of("HOME", "/h", "LOUPE_LLM", "/m/e.gguf"))).llm());
    assertNull(assertInstanceOf(Command.Serve.class, Command.parse(List.of("serve"), ENV)).llm());
  }

  @Test
  void serve_takes_the_chat_context_and_memory_and_names_a_bad_value() {
    Command.Serve serve = assertInstanceOf(Command.Serve.class, Command.parse(
        List.of("serve", "--llm", "/m/q.gguf", "--llm-context", "2048", "--chat-memory=512m"), ENV));
    assertEquals(new ChatOptions(2048, 512L << 20), serve.chat());
    assertEquals(dev.loupe.llm.tensor.ActivationMode.Q8, assertInstanceOf(Command.Serve.class,
        Command.parse(List.of("serve", "--llm-activations", "q8"), ENV)).chat().activations());
    assertEquals(dev.loupe.llm.tensor.ActivationMode.FP32, assertInstanceOf(Command.Serve.class,
        Command.parse(List.of("serve", "--llm-activations", "fp32"), ENV)).chat().activations());
    assertEquals(dev.loupe.llm.tensor.ActivationMode.Q8, ChatOptions.DEFAULTS.activations(), "q8 unless asked");
    assertEquals(ChatOptions.DEFAULTS, assertInstanceOf(Command.Serve.class, Command.parse(List.of("serve"), ENV)).chat());
    assertEquals(3L << 30, ChatOptions.parseSize("3G"));
    assertEquals(4096, ChatOptions.parseSize("4096"));

    for (List<String> bad : List.of(List.of("--llm-context", "lots"), List.of("--llm-context", "8"),
        List.of("--chat-memory", "big"), List.of("--chat-memory", "1k"), List.of("--chat-memory", "-5m"),
        List.of("--llm-activations", "int4"))) {
      List<String> args = new java.util.ArrayList<>(List.of("serve"));
      args.addAll(bad);
      IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> Command.parse(args, ENV), bad.toString());
      assertTrue(e.getMessage().startsWith(bad.getFirst() + " "), e.getMessage());
    }
  }

  @Test
  void the_chat_engine_gets_the_context_and_memory_and_refuses_what_the_model_or_budget_cannot_hold() throws Exception {
    Path file = tmp.resolve("random-tiny.gguf");
    RandomModels.write(RandomModels.preset("tiny", GgmlType.F32, 4242L), file);
    int trained;
    dev.loupe.rag.chat.ChatEngine engine = Main.openChat(file, null, new ChatOptions(64, 8L << 20));
    try {
      assertEquals(64, engine.settings().contextLength());
      assertEquals(8L << 20, engine.settings().memoryBudgetBytes());
      trained = engine.model().config().contextLength();
    } finally {
      engine.model().close();
    }

    IllegalArgumentException tooLong = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> Main.openChat(file, null, new ChatOptions(trained + 1, 0)));
    assertTrue(tooLong.getMessage().contains("--llm-context " + (trained + 1) + " is more than the " + trained + " positions"),
        tooLong.getMessage());
    IllegalArgumentException tooSmall = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> Main.openChat(file, null, new ChatOptions(Math.min(trained, 1024), 1L << 20)));
    assertTrue(tooSmall.getMessage().contains("more than the chat memory budget of 1 MiB"), tooSmall.getMessage());
    assertTrue(tooSmall.getMessage().contains("--chat-memory SIZE"), tooSmall.getMessage());
  }

  @Test
  void ask_answers_one_question_from_an_empty_folder_with_a_random_model() throws Exception {
    Path model = tmp.resolve("random-tiny.gguf");
    RandomModels.write(RandomModels.preset("tiny", GgmlType.F32, 4242L), model);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Main.run(new String[] {"ask", "What is in the inbox?", "--llm", model.toString(), "--data",
          tmp.resolve("data").toString(), "--max-tokens", "5"}, ENV, o, e);
    }
    String errText = err.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, errText);
    assertTrue(errText.contains("(no sources were found for this question)"), errText);
    assertTrue(errText.contains("tokens/s)"), errText);
  }

  @Test
  void ask_with_a_missing_model_says_what_to_do() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Main.run(new String[] {"ask", "why?", "--llm", tmp.resolve("none.gguf").toString(), "--data",
          tmp.resolve("data").toString()}, ENV, o, e);
    }
    assertEquals(2, code);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("is not a file; install the small instruct model with ./loupe models pull qwen2.5-0.5b-instruct"), err.toString());
  }
}
