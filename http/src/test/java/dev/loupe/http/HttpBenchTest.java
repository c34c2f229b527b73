package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.indexer.bench.SyntheticCorpus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP load benchmark's harness against a real server on a small corpus: its counts add up, not that it is fast. */
class HttpBenchTest {
  private record Output(int code, String out, String err) {}

  private static Output run(List<String> args, Path data) throws Exception {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int code = HttpBench.run(args, data, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void every_request_sent_is_answered_or_counted_as_an_error_while_files_are_copied_in(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Path corpus = tmp.resolve("corpus");
    SyntheticCorpus.write(corpus, 20, 5, null);
    Fixtures.ingest(data, corpus);
    Path more = Files.createDirectories(tmp.resolve("more"));
    for (int i = 0; i < 5; i++) {
      Files.writeString(more.resolve("note" + i + ".txt"), "A note about the harbor and the ship number " + i + ".");
    }

    try (LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, data, tmp.resolve("inbox")))) {
      // Found through <data>/serve.json, as `loupe bench http` finds a running `loupe serve`.
      Output o = run(List.of("--rate", "40", "--seconds", "1", "--warmup", "0", "--query", "mix", "--ingest", more.toString()), data);

      assertEquals(0, o.code(), o.out() + o.err());
      JsonNode json = new ObjectMapper().readTree(o.out().lines().toList().getLast());
      for (String phase : List.of("floor", "search")) {
        JsonNode p = json.get(phase);
        assertEquals(40, p.get("sent").asInt(), phase);
        assertEquals(p.get("sent").asInt(), p.get("ok").asInt() + p.get("errors").asInt(), phase);
        assertEquals(0, p.get("errors").asInt(), phase + ": " + p);
        assertTrue(p.get("p50_ms").asDouble() <= p.get("p90_ms").asDouble(), phase);
        assertTrue(p.get("p90_ms").asDouble() <= p.get("p99_ms").asDouble(), phase);
        assertTrue(p.get("p99_ms").asDouble() <= p.get("max_ms").asDouble(), phase);
      }
      assertTrue(json.get("search").get("server_took_p50_ms").asDouble() >= 0);
      assertEquals(5, json.get("files_copied").asInt(), o.out());
      double ratio = json.get("search").get("p99_ms").asDouble() / json.get("floor").get("p99_ms").asDouble();
      assertEquals(ratio, json.get("search_p99_vs_floor_p99").asDouble(), 0.01 + ratio * 0.01);
    }
  }

  @Test
  void without_a_running_server_it_says_how_to_start_one(@TempDir Path tmp) throws Exception {
    Output o = run(List.of("--seconds", "1"), tmp);
    assertEquals(1, o.code());
    assertTrue(o.err().startsWith("loupe bench http: no `loupe serve` runs on " + tmp), o.err());
  }

  @Test
  void bad_flags_are_named() throws Exception {
    for (var args : List.of(List.of("--rate", "0"), List.of("--query", "fuzzy"), List.of("--seconds", "soon"), List.of("--url", "ftp://x/"))) {
      Output o = run(args, Path.of("/nonexistent"));
      assertEquals(2, o.code(), args.toString());
      assertTrue(o.err().startsWith("loupe bench http: ") && o.err().contains(args.get(1)), o.err());
    }
  }
}
