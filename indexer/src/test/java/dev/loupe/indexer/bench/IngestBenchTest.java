package dev.loupe.indexer.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.indexer.TestData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ingest benchmark's harness on a small corpus and a tiny generated embedder: its figures exist and add up, not that they are fast. */
class IngestBenchTest {

  private record Output(int code, String out, String err) {}

  private static Output run(String... args) throws Exception {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int code = IngestBench.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void end_to_end_indexes_every_item_extraction_alone_found(@TempDir Path dir) throws Exception {
    Path tokenizer = TestData.shared("tokenizers/clip-vit-b32/tokenizer.json");
    Output o = run("--files", "60", "--shape", "tiny", "--threads", "1", "--batch", "8", "--tokenizer", tokenizer.toString(), "--dir", dir.toString());
    assertEquals(0, o.code(), o.err());
    JsonNode json = new ObjectMapper().readTree(o.out().lines().toList().getLast());
    assertEquals("ingest", json.get("benchmark").asText());
    JsonNode corpus = json.get("corpus"), extract = json.get("extract"), e2e = json.get("e2e");
    assertEquals(60, corpus.get("files").asInt());
    int kinds = 0;
    for (JsonNode n : corpus.get("kinds")) kinds += n.asInt();
    assertEquals(60, kinds);

    assertEquals(0, extract.get("failed").asInt());
    assertEquals(corpus.get("pdf_pages").asInt(), extract.get("pages").asInt());
    // Every chunk and every visual extraction alone found is one item of the end-to-end ingest.
    assertEquals(60, e2e.get("done").asInt());
    assertEquals(0, e2e.get("failed").asInt());
    assertEquals(extract.get("chunks").asLong() + extract.get("visuals").asLong(), e2e.get("items").asLong());
    assertEquals(4, e2e.get("live_heap_mb_at_quarters").size());
    assertTrue(e2e.get("peak_rss_mb").asLong() > 0);

    JsonNode comparison = json.get("comparison");
    double serial = comparison.get("extract_plus_embed_seconds").asDouble();
    double ratio = serial / e2e.get("seconds").asDouble();
    assertEquals(ratio, comparison.get("e2e_vs_extract_plus_embed").asDouble(), 0.01 + ratio * 0.01);
    // The corpus stays in --dir for the next run; the data folder does not.
    assertTrue(Files.isDirectory(dir.resolve("corpus-60-42")));
    assertFalse(Files.exists(dir.resolve("data")));
  }

  @Test
  void the_same_seed_writes_the_same_corpus_and_a_complete_one_is_reused(@TempDir Path dir) throws Exception {
    SyntheticCorpus.Summary a = SyntheticCorpus.write(dir.resolve("a"), 25, 7, null);
    SyntheticCorpus.Summary b = SyntheticCorpus.write(dir.resolve("b"), 25, 7, null);
    assertEquals(a, b);
    assertEquals(digest(dir.resolve("a")), digest(dir.resolve("b")));
    assertEquals(a, SyntheticCorpus.write(dir.resolve("a"), 25, 7, null));
    assertTrue(a.pdfPages() > 0, a.toString());
  }

  @Test
  void the_images_mix_is_photos_only_and_kept_apart_from_the_documents_corpus(@TempDir Path dir) throws Exception {
    SyntheticCorpus.Summary images = SyntheticCorpus.write(dir.resolve("i"), 6, 3, SyntheticCorpus.Mix.IMAGES, null);
    assertEquals(java.util.Map.of("jpg", 6), images.kinds());
    // The same folder does not pass for the documents corpus of that seed and count.
    var e = assertThrows(IllegalArgumentException.class, () -> SyntheticCorpus.write(dir.resolve("i"), 6, 3, null));
    assertTrue(e.getMessage().contains("not empty"), e.getMessage());
  }

  @Test
  void a_folder_holding_other_files_is_not_taken_for_a_corpus(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("mine.txt"), "keep me");
    var e = assertThrows(IllegalArgumentException.class, () -> SyntheticCorpus.write(dir, 10, 1, null));
    assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("not empty"), e.getMessage());
    assertEquals("keep me", Files.readString(dir.resolve("mine.txt")));
  }

  @Test
  void bad_flags_are_named() throws Exception {
    for (var c : List.of(List.of("--files", "0"), List.of("--shape", "huge"), List.of("--phases", "hash,render"), List.of("--files"), List.of("--mix", "videos"))) {
      Output o = run(c.toArray(String[]::new));
      assertEquals(2, o.code(), c.toString());
      assertTrue(o.err().startsWith("loupe bench ingest: ") && o.err().contains("usage:"), o.err());
    }
    assertTrue(run("--files", "0").err().contains("--files 0"));
    assertTrue(run("--phases", "hash,render").err().contains("'render'"));
  }

  private static String digest(Path dir) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    for (Path p : SyntheticCorpus.files(dir)) {
      sha.update(dir.relativize(p).toString().getBytes(StandardCharsets.UTF_8));
      sha.update(Files.readAllBytes(p));
    }
    return HexFormat.of().formatHex(sha.digest());
  }
}
