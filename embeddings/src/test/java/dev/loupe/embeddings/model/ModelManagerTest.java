package dev.loupe.embeddings.model;

import static dev.loupe.embeddings.model.Fixtures.FAST;
import static dev.loupe.embeddings.model.Fixtures.ONNX;
import static dev.loupe.embeddings.model.Fixtures.REVISION;
import static dev.loupe.embeddings.model.Fixtures.TOKENIZER;
import static dev.loupe.embeddings.model.Fixtures.sha256;
import static dev.loupe.embeddings.model.Fixtures.url;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.model.ModelManager.Status;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ModelManager#pull} against a file server on loopback, and the statuses, checks and
 * removal of installed models. Model files are random bytes from seeded generators (seed 7).
 */
class ModelManagerTest {
  private static final long SEED = 7;

  @TempDir Path data;

  private final FileServer server;
  private final Map<String, byte[]> files = Fixtures.files(SEED);

  ModelManagerTest() throws IOException {
    server = new FileServer();
  }

  @AfterEach
  void stopServer() {
    server.close();
  }

  private Path models() {
    return data.resolve("models");
  }

  private ModelManager manager(ModelManifest... manifests) {
    return new ModelManager(models(), ModelCatalog.of(List.of(manifests)), FAST);
  }

  private ModelManager served(String name) {
    Fixtures.serve(server, files, REVISION);
    return manager(Fixtures.manifest(name, server.base(), files));
  }

  private void assertInstalledBytes(String name) throws IOException {
    for (var e : files.entrySet()) {
      assertArrayEquals(e.getValue(), Files.readAllBytes(models().resolve(name).resolve(e.getKey())),
          e.getKey() + " (seed " + SEED + ")");
    }
  }

  private void assertNothingInstalled(String name) {
    assertFalse(Files.exists(models().resolve(name)), "no model folder may appear for " + name);
  }

  private static long rangeStart(FileServer.Request request) {
    String range = request.range();
    assertTrue(range != null && range.matches("bytes=\\d+-"), "a resuming request has a Range header: " + request);
    return Long.parseLong(range.substring("bytes=".length(), range.length() - 1));
  }

  @Test
  void a_pull_downloads_every_file_checks_it_and_installs_the_model() throws Exception {
    ModelManager manager = served("tiny");
    Fixtures.Recorder progress = new Fixtures.Recorder();

    InstalledModel model = manager.pull("tiny", false, progress);

    assertEquals(models().resolve("tiny"), model.dir());
    assertInstalledBytes("tiny");
    assertEquals(Fixtures.manifest("tiny", server.base(), files), ModelManifest.read(model.dir().resolve("model.json")));
    assertFalse(Files.exists(models().resolve(".partial/tiny")), "the staging folder is renamed into place");
    assertEquals(320_000, progress.lastModelDone);
    assertEquals(320_000, progress.lastModelTotal);
    assertInstanceOf(Status.Installed.class, manager.status("tiny"));
    assertEquals(model.dir().resolve(ONNX), manager.installedModel("tiny").file(ONNX));
  }

  @Test
  void a_cut_connection_is_resumed_with_a_range_request() throws Exception {
    ModelManager manager = served("tiny");
    server.cut(url(REVISION, ONNX), 100_000, 1);
    Fixtures.Recorder progress = new Fixtures.Recorder();

    manager.pull("tiny", false, progress);

    List<FileServer.Request> requests = server.requests(url(REVISION, ONNX));
    assertEquals(2, requests.size(), requests.toString());
    assertNull(requests.get(0).range());
    long resumedAt = rangeStart(requests.get(1));
    // What arrived before the cut is all the client has; bytes in flight may be lost with the connection.
    assertTrue(resumedAt > 0 && resumedAt <= 100_000, "the second request resumes from what arrived: " + resumedAt);
    assertInstalledBytes("tiny");
    assertTrue(progress.notes.stream().anyMatch(n -> n.contains("resuming")), progress.notes.toString());
  }

  @Test
  void a_download_cut_in_an_earlier_run_resumes_in_the_next_pull() throws Exception {
    Fixtures.serve(server, files, REVISION);
    ModelManifest manifest = Fixtures.manifest("tiny", server.base(), files);
    ModelManager once = new ModelManager(models(),
        ModelCatalog.of(List.of(manifest)), new ModelManager.Options(FAST.connectTimeout(), FAST.idleTimeout(), 1, FAST.retryDelay()));
    server.cut(url(REVISION, ONNX), 120_000, 1);

    IOException e = assertThrows(IOException.class, () -> once.pull("tiny", false, ModelManager.Progress.NONE));

    long kept = Files.size(models().resolve(".partial/tiny").resolve(ONNX));
    assertTrue(kept > 0 && kept <= 120_000, "kept " + kept);
    assertTrue(e.getMessage().endsWith(kept + " bytes are kept and the next pull resumes from there"), e.getMessage());
    assertNothingInstalled("tiny");
    assertEquals(new Status.Incomplete(kept, 320_000), once.status("tiny"));

    manager(manifest).pull("tiny", false, ModelManager.Progress.NONE);

    assertEquals("bytes=" + kept + "-", server.requests(url(REVISION, ONNX)).getLast().range());
    assertInstalledBytes("tiny");
  }

  @Test
  void a_checksum_mismatch_names_the_file_and_both_digests_and_installs_nothing() throws Exception {
    ModelManager manager = served("tiny");
    byte[] wrong = Fixtures.bytes(SEED + 100, 20_000);
    server.put(url(REVISION, TOKENIZER), wrong);

    IOException e = assertThrows(IOException.class, () -> manager.pull("tiny", false, ModelManager.Progress.NONE));

    String m = e.getMessage();
    assertTrue(m.startsWith("checksum mismatch for tokenizer.json of tiny"), m);
    assertTrue(m.contains("sha256 " + sha256(wrong)), m);
    assertTrue(m.contains("expected 20000 bytes with sha256 " + sha256(files.get(TOKENIZER))), m);
    assertTrue(m.contains("nothing was installed"), m);
    assertNothingInstalled("tiny");
    assertFalse(Files.exists(models().resolve(".partial/tiny/" + TOKENIZER)), "the bad file is deleted");
    assertFalse(manager.status("tiny") instanceof Status.Installed);
  }

  @Test
  void an_unreachable_source_is_one_clear_sentence_pointing_to_import() throws Exception {
    Map<String, byte[]> files = Fixtures.files(SEED);
    URI closed = URI.create("http://127.0.0.1:" + Fixtures.closedPort());
    ModelManager manager = manager(Fixtures.manifest("tiny", closed, files));

    IOException e = assertThrows(IOException.class, () -> manager.pull("tiny", false, ModelManager.Progress.NONE));

    String m = e.getMessage();
    assertTrue(m.startsWith("cannot reach 127.0.0.1 (connection refused) to download tiny"), m);
    assertTrue(m.contains("on a machine without internet, copy the files by hand (onnx/model.onnx, tokenizer.json"), m);
    assertTrue(m.endsWith("run ./loupe models import DIR"), m);
    assertNothingInstalled("tiny");
    assertEquals(new Status.NotInstalled(), manager.status("tiny"), "a pull that got nothing leaves nothing behind");
  }

  @Test
  void redirects_are_followed_and_a_resume_keeps_its_range_through_them() throws Exception {
    files.forEach((path, content) -> server.put("/cdn/" + path, content));
    server.redirect("/repo/resolve/" + REVISION + "/", "/cdn/");
    server.cut("/cdn/" + ONNX, 50_000, 1);
    ModelManager manager = manager(Fixtures.manifest("tiny", server.base(), files));

    manager.pull("tiny", false, ModelManager.Progress.NONE);

    assertInstalledBytes("tiny");
    List<FileServer.Request> cdn = server.requests("/cdn/" + ONNX);
    assertEquals(2, cdn.size(), server.requests().toString());
    long resumedAt = rangeStart(cdn.get(1));
    assertTrue(resumedAt > 0 && resumedAt <= 50_000, "the Range header survives the redirect: " + cdn.get(1));
  }

  @Test
  void a_model_that_is_not_pinned_is_refused_without_trust() throws Exception {
    ModelManager manager = manager(Fixtures.manifest("loose", server.base(), files, false, "main"));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> manager.pull("loose", false, ModelManager.Progress.NONE));

    assertTrue(e.getMessage().startsWith("model loose is not pinned in this release"), e.getMessage());
    assertTrue(e.getMessage().contains("./loupe models pull loose --trust-on-first-use"), e.getMessage());
    assertTrue(e.getMessage().contains("./loupe models import DIR"), e.getMessage());
    assertTrue(server.requests().isEmpty(), "nothing is downloaded");
  }

  @Test
  void trust_on_first_use_records_the_digests_and_the_commit_the_source_served() throws Exception {
    String served = "fedcba9876543210fedcba9876543210fedcba98";
    Fixtures.serve(server, files, "main");
    Fixtures.serve(server, files, served);
    server.commit(served);
    ModelManager manager = manager(Fixtures.manifest("loose", server.base(), files, false, "main"));
    Fixtures.Recorder progress = new Fixtures.Recorder();

    InstalledModel model = manager.pull("loose", true, progress);

    ModelManifest recorded = ModelManifest.read(model.dir().resolve("model.json"));
    assertTrue(recorded.pinned());
    assertEquals(Fixtures.manifest("loose", server.base(), files).files(), recorded.files());
    assertEquals(served, recorded.source().revision(), "the installed manifest pins the commit that was served");
    assertEquals(1, server.requests(url("main", ONNX)).size(), "the first file comes from the branch");
    assertEquals(1, server.requests(url(served, TOKENIZER)).size(), "the rest from the commit it named");
    assertTrue(progress.notes.stream().anyMatch(n -> n.contains("trusting on first use: " + TOKENIZER + " 20000 bytes, sha256 "
        + sha256(files.get(TOKENIZER)))), progress.notes.toString());
    assertInstanceOf(Status.Installed.class, manager.status("loose"));
  }

  @Test
  void an_installed_model_is_not_downloaded_again() throws Exception {
    ModelManager manager = served("tiny");
    manager.pull("tiny", false, ModelManager.Progress.NONE);
    int before = server.requests().size();
    Fixtures.Recorder progress = new Fixtures.Recorder();

    manager.pull("tiny", false, progress);

    assertEquals(before, server.requests().size());
    assertTrue(progress.notes.getFirst().startsWith("tiny is already installed and verified"), progress.notes.toString());
  }

  @Test
  void a_second_pull_of_the_same_model_fails_while_the_first_holds_the_lock() throws Exception {
    ModelManager manager = served("tiny");
    server.gate(url(REVISION, ONNX));
    CompletableFuture<InstalledModel> first = CompletableFuture.supplyAsync(() -> {
      try {
        return manager.pull("tiny", false, ModelManager.Progress.NONE);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    server.awaitGate();

    IOException e = assertThrows(IOException.class,
        () -> new ModelManager(models(), manager.catalog(), FAST).pull("tiny", false, ModelManager.Progress.NONE));
    server.openGate();

    assertTrue(e.getMessage().startsWith("model tiny is being installed or removed by another loupe command"), e.getMessage());
    assertTrue(e.getMessage().contains(".locks/tiny.lock"), e.getMessage());
    assertEquals(models().resolve("tiny"), first.get().dir());
    assertInstalledBytes("tiny");
  }

  @Test
  void a_model_never_pulled_is_not_installed_and_the_message_says_how_to_pull_it() throws Exception {
    ModelManager manager = served("tiny");

    assertEquals(new Status.NotInstalled(), manager.status("tiny"));
    ModelUnavailableException e = assertThrows(ModelUnavailableException.class, () -> manager.installedModel("tiny"));

    assertEquals("./loupe models pull tiny", e.fix());
    assertTrue(e.getMessage().startsWith("model tiny is not installed in " + models()), e.getMessage());
    assertTrue(e.getMessage().contains("run ./loupe models pull tiny (on a machine without internet, copy the files by hand and run ./loupe models import DIR)"),
        e.getMessage());
  }

  @Test
  void a_missing_file_makes_the_model_corrupt_naming_the_file_and_the_fix() throws Exception {
    ModelManager manager = served("tiny");
    manager.pull("tiny", false, ModelManager.Progress.NONE);
    Files.delete(models().resolve("tiny").resolve(TOKENIZER));

    assertEquals(new Status.Corrupt(TOKENIZER, "is missing"), manager.status("tiny"));
    ModelUnavailableException e = assertThrows(ModelUnavailableException.class, () -> manager.installedModel("tiny"));
    assertTrue(e.getMessage().startsWith("model tiny is damaged: " + models().resolve("tiny").resolve(TOKENIZER) + " is missing; run ./loupe models pull tiny"),
        e.getMessage());
  }

  @Test
  void a_file_that_changed_fails_its_checksum_and_a_pull_repairs_it() throws Exception {
    ModelManager manager = served("tiny");
    manager.pull("tiny", false, ModelManager.Progress.NONE);
    Path onnx = models().resolve("tiny").resolve(ONNX);
    byte[] damaged = Files.readAllBytes(onnx);
    damaged[1234] ^= 1;
    Files.write(onnx, damaged);

    Status status = manager.status("tiny");

    assertEquals(new Status.Corrupt(ONNX, "fails its checksum: sha256 " + sha256(damaged) + ", expected " + sha256(files.get(ONNX))), status);
    assertTrue(status.describe().startsWith("corrupt: onnx/model.onnx fails its checksum"), status.describe());
    manager.pull("tiny", false, ModelManager.Progress.NONE);
    assertInstalledBytes("tiny");
    assertInstanceOf(Status.Installed.class, manager.status("tiny"));
  }

  @Test
  void the_verification_cache_spares_a_rehash_but_verify_hashes_everything() throws Exception {
    ModelManager manager = served("tiny");
    manager.pull("tiny", false, ModelManager.Progress.NONE);
    Path onnx = models().resolve("tiny").resolve(ONNX);
    FileTime time = Files.getLastModifiedTime(onnx);
    byte[] damaged = Files.readAllBytes(onnx);
    damaged[99] ^= 1;
    Files.write(onnx, damaged);
    Files.setLastModifiedTime(onnx, time); // same size and time: only a full hash can tell

    assertEquals(models().resolve("tiny"), manager.installedModel("tiny").dir(), "the cache is trusted at start-up");
    ModelUnavailableException e = assertThrows(ModelUnavailableException.class, () -> manager.verify("tiny"));
    assertTrue(e.getMessage().contains(ONNX + " fails its checksum"), e.getMessage());
  }

  @Test
  void list_shows_installed_missing_incomplete_and_corrupt_models_with_their_sizes() throws Exception {
    Map<String, byte[]> other = Fixtures.files(SEED + 10);
    Fixtures.serve(server, files, REVISION);
    ModelManager manager = manager(
        Fixtures.manifest("good", server.base(), files),
        Fixtures.manifest("absent", server.base(), files),
        Fixtures.manifest("broken", server.base(), files),
        Fixtures.manifest("halfway", server.base(), other));
    manager.pull("good", false, ModelManager.Progress.NONE);
    manager.pull("broken", false, ModelManager.Progress.NONE);
    Files.write(models().resolve("broken").resolve(TOKENIZER), new byte[] {1, 2, 3});
    Fixtures.writeFiles(models().resolve(".partial/halfway"), Map.of(ONNX, new byte[1000]));

    List<ModelManager.Entry> entries = manager.list();

    assertEquals(List.of("good", "absent", "broken", "halfway"), entries.stream().map(ModelManager.Entry::name).toList());
    assertEquals(List.of(
            "installed",
            "not installed",
            "corrupt: tokenizer.json is 3 bytes, expected 20000",
            "incomplete download (1.0 kB of 320.0 kB)"),
        entries.stream().map(e -> e.status().describe()).toList());
    assertEquals(320_000, entries.getFirst().manifest().totalBytes());
  }

  @Test
  void list_includes_installed_models_the_catalog_does_not_know() throws Exception {
    ModelManager manager = served("tiny");
    manager.pull("tiny", false, ModelManager.Progress.NONE);

    List<ModelManager.Entry> entries = manager(/* empty catalog */).list();

    assertEquals(1, entries.size());
    assertEquals("tiny", entries.getFirst().name());
    assertFalse(entries.getFirst().inCatalog());
    assertInstanceOf(Status.Installed.class, entries.getFirst().status());
  }

  @Test
  void remove_deletes_the_model_and_any_partial_download() throws Exception {
    ModelManager manager = served("tiny");
    manager.pull("tiny", false, ModelManager.Progress.NONE);
    Fixtures.writeFiles(models().resolve(".partial/tiny"), Map.of(ONNX, new byte[10]));

    assertTrue(manager.remove("tiny"));

    assertNothingInstalled("tiny");
    assertFalse(Files.exists(models().resolve(".partial/tiny")));
    try (Stream<Path> trash = Files.list(models().resolve(".trash"))) {
      assertEquals(0, trash.count(), "nothing is left in the trash");
    }
    assertFalse(manager.remove("tiny"), "a second remove finds nothing");
  }

  @Test
  void names_that_could_leave_the_models_folder_are_rejected() {
    ModelManager manager = manager();

    for (String bad : List.of("../x", "/etc", "a/b", ".hidden", "")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> manager.remove(bad), bad);
      assertTrue(e.getMessage().startsWith("model name '" + bad + "' must be"), e.getMessage());
    }
  }

  @Test
  void an_unknown_model_is_named_with_the_known_ones() {
    ModelManager manager = served("tiny");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> manager.pull("huge", false, ModelManager.Progress.NONE));

    assertEquals("unknown model 'huge'; known models: tiny", e.getMessage());
  }
}
