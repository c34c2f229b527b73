package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.loupe.embeddings.model.Digests;
import dev.loupe.embeddings.model.ModelManager;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe models pull} of a language model against a loopback HTTP server that serves a
 * seeded generated file with {@code Range} support and Hugging Face's {@code X-Repo-Commit}: a
 * pinned pull, a resumed one, a digest that does not match, and a first download that records the
 * digest which every later load checks.
 */
class LlmModelsTest {
  private static final long SEED = 77L;
  private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
  private static final ModelManager.Options FAST = new ModelManager.Options(Duration.ofSeconds(10), Duration.ofSeconds(60), 2,
      Duration.ZERO);

  @TempDir Path data;
  private HttpServer http;
  private byte[] model;
  /** The Range header of each request, "" for none. */
  private final List<String> ranges = new CopyOnWriteArrayList<>();

  @BeforeEach
  void serve() throws IOException {
    model = new byte[300_000];
    new Random(SEED).nextBytes(model);
    http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    http.createContext("/repo/resolve/", exchange -> {
      String range = exchange.getRequestHeaders().getFirst("Range");
      ranges.add(range == null ? "" : range);
      if (!exchange.getRequestURI().getPath().endsWith("/tiny-q8_0.gguf")) {
        exchange.sendResponseHeaders(404, -1);
        exchange.close();
        return;
      }
      int from = range == null ? 0 : Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
      exchange.getResponseHeaders().add("X-Repo-Commit", COMMIT);
      if (from > 0) {
        exchange.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (model.length - 1) + "/" + model.length);
      }
      exchange.sendResponseHeaders(from > 0 ? 206 : 200, model.length - from);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(model, from, model.length - from);
      }
    });
    http.start();
  }

  @AfterEach
  void stop() {
    http.stop(0);
  }

  private LlmModels.Entry entry(long bytes, String sha256) {
    return new LlmModels.Entry("tiny-chat", "tiny-q8_0.gguf", "http://127.0.0.1:" + http.getAddress().getPort()
        + "/repo/resolve/{revision}/tiny-q8_0.gguf", "main", bytes, sha256, "a generated test file");
  }

  private String sha256() throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(model));
  }

  private static PrintStream sink(ByteArrayOutputStream out) {
    return new PrintStream(out, true, StandardCharsets.UTF_8);
  }

  @Test
  void a_pinned_pull_installs_the_file_with_its_record_and_a_load_checks_it() throws Exception {
    LlmModels models = new LlmModels(data, List.of(entry(model.length, sha256())), FAST);
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    Path file = models.pull("tiny-chat", sink(err));

    assertEquals(data.resolve("llm/tiny-q8_0.gguf"), file);
    assertArrayEquals(model, Files.readAllBytes(file));
    LlmModels.Installed record = models.installed("tiny-chat").orElseThrow();
    assertEquals(COMMIT, record.revision(), "the commit the source said it served");
    assertEquals(sha256(), record.sha256());
    assertTrue(record.pinned());
    assertEquals(file, models.verified("tiny-chat"));
    assertFalse(err.toString(StandardCharsets.UTF_8).contains("not pinned"), err.toString(StandardCharsets.UTF_8));
    assertFalse(Files.exists(data.resolve("llm/.partial/tiny-q8_0.gguf")));
  }

  @Test
  void a_pull_resumes_from_what_the_partial_file_holds() throws Exception {
    Path partial = Files.createDirectories(data.resolve("llm/.partial")).resolve("tiny-q8_0.gguf");
    Files.write(partial, java.util.Arrays.copyOf(model, 123_456));
    LlmModels models = new LlmModels(data, List.of(entry(model.length, sha256())), FAST);

    Path file = models.pull("tiny-chat", sink(new ByteArrayOutputStream()));

    assertEquals(List.of("bytes=123456-"), ranges);
    assertArrayEquals(model, Files.readAllBytes(file));
  }

  @Test
  void a_file_whose_digest_does_not_match_the_pin_is_deleted_and_nothing_is_installed() throws Exception {
    String wrong = "ab".repeat(32);
    LlmModels models = new LlmModels(data, List.of(entry(model.length, wrong)), FAST);

    IOException e = assertThrows(IOException.class, () -> models.pull("tiny-chat", sink(new ByteArrayOutputStream())));

    assertTrue(e.getMessage().contains("has sha256 " + sha256() + ", but the pinned sha256 is " + wrong), e.getMessage());
    assertTrue(e.getMessage().contains("./loupe models pull tiny-chat"), e.getMessage());
    assertFalse(Files.exists(data.resolve("llm/.partial/tiny-q8_0.gguf")));
    assertFalse(Files.exists(data.resolve("llm/tiny-q8_0.gguf")));
    assertTrue(models.installed("tiny-chat").isEmpty());
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> models.verified("tiny-chat"));
    assertTrue(missing.getMessage().endsWith("install it with ./loupe models pull tiny-chat"), missing.getMessage());
  }

  @Test
  void an_unpinned_model_records_its_digest_at_the_first_download_and_a_changed_file_is_refused_at_load() throws Exception {
    LlmModels models = new LlmModels(data, List.of(entry(-1, null)), FAST);
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    Path file = models.pull("tiny-chat", sink(err));

    assertTrue(err.toString(StandardCharsets.UTF_8).contains("recorded its size 300000, sha256 " + sha256()),
        err.toString(StandardCharsets.UTF_8));
    LlmModels.Installed record = models.installed("tiny-chat").orElseThrow();
    assertFalse(record.pinned());
    assertEquals(model.length, record.bytes());
    assertEquals(Digests.of(file), record.sha256());
    assertEquals(file, models.verified("tiny-chat"));

    byte[] changed = model.clone();
    changed[changed.length / 2] ^= 1;
    Files.write(file, changed);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> models.verified("tiny-chat"));
    assertTrue(e.getMessage().contains("was recorded at its download; delete it and run ./loupe models pull tiny-chat"),
        e.getMessage());
  }

  @Test
  void models_pull_routes_catalog_language_models_and_serve_names_the_pull_for_one_not_installed() throws Exception {
    assertTrue(LlmModels.handles(List.of("--data", "/d", "pull", "qwen2.5-0.5b-instruct")));
    assertTrue(LlmModels.handles(List.of("verify", "qwen2.5-0.5b-instruct", "--data", "/d")));
    assertFalse(LlmModels.handles(List.of("--data", "/d", "pull", "clip-vit-b32")));
    assertFalse(LlmModels.handles(List.of("--data", "/d", "list")));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LlmModels.resolve(data, Path.of("qwen2.5-0.5b-instruct")));
    assertTrue(e.getMessage().endsWith("install it with ./loupe models pull qwen2.5-0.5b-instruct"), e.getMessage());
    assertEquals(Path.of("/m/other.gguf"), LlmModels.resolve(data, Path.of("/m/other.gguf")), "a path stays a path");
  }
}
