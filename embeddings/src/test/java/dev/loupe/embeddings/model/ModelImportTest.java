package dev.loupe.embeddings.model;

import static dev.loupe.embeddings.model.Fixtures.FAST;
import static dev.loupe.embeddings.model.Fixtures.ONNX;
import static dev.loupe.embeddings.model.Fixtures.TOKENIZER;
import static dev.loupe.embeddings.model.Fixtures.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.model.ModelManager.Status;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ModelManager#importFrom}: files copied by hand, checked, then installed whole or not at
 * all. Model files are random bytes from seeded generators (seed 11). No network is used.
 */
class ModelImportTest {
  private static final long SEED = 11;
  private static final URI NOWHERE = URI.create("http://127.0.0.1:9");

  @TempDir Path data;
  @TempDir Path copied;

  private final Map<String, byte[]> files = Fixtures.files(SEED);

  private Path models() {
    return data.resolve("models");
  }

  private ModelManager manager(ModelManifest... manifests) {
    return new ModelManager(models(), ModelCatalog.of(List.of(manifests)), FAST);
  }

  private void assertInstalledBytes(String name) throws IOException {
    for (var e : files.entrySet()) {
      assertArrayEquals(e.getValue(), Files.readAllBytes(models().resolve(name).resolve(e.getKey())),
          e.getKey() + " (seed " + SEED + ")");
    }
  }

  private void assertNothingInstalled(String name) {
    assertFalse(Files.exists(models().resolve(name)), "no model folder may appear for " + name);
    assertFalse(Files.exists(models().resolve(".partial").resolve(name)), "no staging folder may be left for " + name);
  }

  @Test
  void a_folder_laid_out_like_a_catalog_model_is_recognised_checked_and_installed() throws Exception {
    ModelManager manager = manager(Fixtures.manifest("tiny", NOWHERE, files));
    Fixtures.writeFiles(copied, files);
    Files.writeString(copied.resolve("README.md"), "not part of the model");

    InstalledModel model = manager.importFrom(copied, null, false, ModelManager.Progress.NONE);

    assertEquals(models().resolve("tiny"), model.dir());
    assertInstalledBytes("tiny");
    assertFalse(Files.exists(model.dir().resolve("README.md")), "only the listed files are copied");
    assertInstanceOf(Status.Installed.class, manager.status("tiny"));
    assertTrue(Files.exists(copied.resolve(ONNX)), "the source folder is left as it was");
  }

  @Test
  void a_folder_with_its_own_model_json_installs_a_model_the_catalog_does_not_know() throws Exception {
    ModelManifest own = Fixtures.manifest("my-model", NOWHERE, files);
    Fixtures.writeFiles(copied, files);
    Files.writeString(copied.resolve("model.json"), own.toJson());

    InstalledModel model = manager().importFrom(copied, null, false, ModelManager.Progress.NONE);

    assertEquals(own, model.manifest());
    assertInstalledBytes("my-model");
    assertEquals(own, ModelManifest.read(models().resolve("my-model/model.json")));
  }

  @Test
  void a_missing_file_is_named_and_nothing_is_installed() throws Exception {
    ModelManager manager = manager(Fixtures.manifest("tiny", NOWHERE, files));
    Fixtures.writeFiles(copied, Map.of(TOKENIZER, files.get(TOKENIZER), "model.onnx", files.get(ONNX)));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> manager.importFrom(copied, "tiny", false, ModelManager.Progress.NONE));

    String m = e.getMessage();
    assertTrue(m.startsWith(copied.resolve(ONNX) + " is missing: model tiny needs onnx/model.onnx, tokenizer.json"), m);
    assertTrue(m.contains("model.onnx is at the top of the folder; move it to " + copied.resolve(ONNX)), m);
    assertNothingInstalled("tiny");
  }

  @Test
  void a_file_with_the_wrong_digest_is_named_with_both_digests_and_nothing_is_installed() throws Exception {
    ModelManager manager = manager(Fixtures.manifest("tiny", NOWHERE, files));
    Map<String, byte[]> damaged = new LinkedHashMap<>(files);
    byte[] wrong = Fixtures.bytes(SEED + 50, 20_000);
    damaged.put(TOKENIZER, wrong);
    Fixtures.writeFiles(copied, damaged);

    IOException e = assertThrows(IOException.class,
        () -> manager.importFrom(copied, null, false, ModelManager.Progress.NONE));

    String m = e.getMessage();
    assertTrue(m.startsWith("checksum mismatch for " + copied.resolve(TOKENIZER) + ": sha256 " + sha256(wrong)
        + ", expected " + sha256(files.get(TOKENIZER))), m);
    assertTrue(m.contains("nothing was installed"), m);
    assertNothingInstalled("tiny");
  }

  @Test
  void a_file_of_the_wrong_size_is_refused_before_anything_is_copied() throws Exception {
    ModelManager manager = manager(Fixtures.manifest("tiny", NOWHERE, files));
    Fixtures.writeFiles(copied, Map.of(ONNX, new byte[10], TOKENIZER, files.get(TOKENIZER)));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> manager.importFrom(copied, "tiny", false, ModelManager.Progress.NONE));

    assertTrue(e.getMessage().startsWith(copied.resolve(ONNX) + " is 10 bytes, but tiny needs 300000 bytes"), e.getMessage());
    assertNothingInstalled("tiny");
  }

  @Test
  void a_symbolic_link_that_leads_outside_the_folder_is_rejected() throws Exception {
    ModelManager manager = manager(Fixtures.manifest("tiny", NOWHERE, files));
    Path outside = data.resolve("outside.bin");
    Files.write(outside, files.get(TOKENIZER));
    Fixtures.writeFiles(copied, Map.of(ONNX, files.get(ONNX)));
    Files.createSymbolicLink(copied.resolve(TOKENIZER), outside);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> manager.importFrom(copied, "tiny", false, ModelManager.Progress.NONE));

    assertEquals(copied.resolve(TOKENIZER) + " leads outside " + copied + " (to " + outside.toRealPath()
        + "); copy the file itself into the folder instead of linking to it", e.getMessage());
    assertNothingInstalled("tiny");
  }

  @Test
  void a_model_json_whose_paths_leave_the_folder_is_rejected() throws Exception {
    String json = Fixtures.manifest("evil", NOWHERE, files).toJson().replace("\"tokenizer.json\"", "\"../../tokenizer.json\"");
    Fixtures.writeFiles(copied, files);
    Files.writeString(copied.resolve("model.json"), json);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> manager().importFrom(copied, null, false, ModelManager.Progress.NONE));

    assertTrue(e.getMessage().contains("file path '../../tokenizer.json' may not contain empty, '.' or '..' parts"), e.getMessage());
    assertNothingInstalled("evil");
  }

  @Test
  void a_model_json_that_contradicts_the_catalog_pins_is_rejected() throws Exception {
    ModelManifest pinned = Fixtures.manifest("tiny", NOWHERE, files);
    Map<String, byte[]> other = Fixtures.files(SEED + 1);
    Fixtures.writeFiles(copied, other);
    Files.writeString(copied.resolve("model.json"), Fixtures.manifest("tiny", NOWHERE, other).toJson());

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> manager(pinned).importFrom(copied, null, false, ModelManager.Progress.NONE));

    assertTrue(e.getMessage().contains("describes tiny with other files or digests than Loupe's catalog pins (onnx/model.onnx: sha256 "
        + sha256(other.get(ONNX)) + ", catalog " + sha256(files.get(ONNX)) + ")"), e.getMessage());
    assertNothingInstalled("tiny");
  }

  @Test
  void a_layout_shared_by_several_models_needs_a_name() throws Exception {
    ModelManager manager = manager(
        Fixtures.manifest("one", NOWHERE, files, false, "main"),
        Fixtures.manifest("two", NOWHERE, files, false, "main"));
    Fixtures.writeFiles(copied, files);

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> manager.importFrom(copied, null, true, ModelManager.Progress.NONE));

    assertEquals(copied + " has the file layout of several models (one, two); say which with --name NAME", e.getMessage());
  }

  @Test
  void the_pinned_model_whose_sizes_match_wins_over_one_with_the_same_layout() throws Exception {
    Map<String, byte[]> other = Fixtures.files(SEED + 1);
    other.put(ONNX, new byte[5]);
    ModelManager manager = manager(
        Fixtures.manifest("small", NOWHERE, other),
        Fixtures.manifest("tiny", NOWHERE, files),
        Fixtures.manifest("loose", NOWHERE, files, false, "main"));
    Fixtures.writeFiles(copied, files);

    assertEquals("tiny", manager.importFrom(copied, null, false, ModelManager.Progress.NONE).manifest().name());
  }

  @Test
  void a_folder_that_matches_nothing_says_what_the_closest_model_needs() throws Exception {
    ModelManager manager = manager(Fixtures.manifest("tiny", NOWHERE, files));
    Fixtures.writeFiles(copied, Map.of(TOKENIZER, files.get(TOKENIZER)));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> manager.importFrom(copied, null, false, ModelManager.Progress.NONE));

    assertTrue(e.getMessage().startsWith(copied + " has no model.json and its files match no model Loupe knows."
        + " The closest, tiny, needs: onnx/model.onnx, tokenizer.json."), e.getMessage());
  }

  @Test
  void the_hint_names_the_model_with_the_largest_share_of_its_files_present() throws Exception {
    Map<String, byte[]> big = new LinkedHashMap<>(files);
    big.put("a.bin", new byte[1]);
    big.put("b.bin", new byte[1]);
    big.put("c.bin", new byte[1]);
    ModelManager manager = manager(Fixtures.manifest("wide", NOWHERE, big), Fixtures.manifest("tiny", NOWHERE, files));
    Fixtures.writeFiles(copied, Map.of(TOKENIZER, files.get(TOKENIZER)));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> manager.importFrom(copied, null, false, ModelManager.Progress.NONE));

    assertTrue(e.getMessage().contains("The closest, tiny, needs"), e.getMessage());
  }

  @Test
  void files_without_a_pinned_digest_are_imported_only_on_trust_which_records_their_digests() throws Exception {
    ModelManager manager = manager(Fixtures.manifest("loose", NOWHERE, files, false, "main"));
    Fixtures.writeFiles(copied, files);

    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
        () -> manager.importFrom(copied, null, false, ModelManager.Progress.NONE));
    assertTrue(refused.getMessage().contains("--name loose --trust-on-first-use"), refused.getMessage());
    assertNothingInstalled("loose");

    InstalledModel model = manager.importFrom(copied, null, true, ModelManager.Progress.NONE);

    assertEquals(Fixtures.manifest("loose", NOWHERE, files).files(), model.manifest().files());
    assertInstanceOf(Status.Installed.class, manager.status("loose"));
  }

  @Test
  void a_path_that_is_not_a_folder_is_refused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> manager().importFrom(copied.resolve("nope"), null, false, ModelManager.Progress.NONE));

    assertEquals("import needs a folder holding the model's files; " + copied.resolve("nope") + " is not a directory", e.getMessage());
  }

  @Test
  void importing_over_a_damaged_installation_replaces_it() throws Exception {
    ModelManager manager = manager(Fixtures.manifest("tiny", NOWHERE, files));
    Fixtures.writeFiles(copied, files);
    manager.importFrom(copied, null, false, ModelManager.Progress.NONE);
    Files.write(models().resolve("tiny").resolve(TOKENIZER), new byte[3]);

    manager.importFrom(copied, null, false, ModelManager.Progress.NONE);

    assertInstalledBytes("tiny");
    assertInstanceOf(Status.Installed.class, manager.status("tiny"));
  }
}
