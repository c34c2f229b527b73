package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.durable.DirectoryLock;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loupe ingest} and {@code loupe status} through Main, on a data folder without models;
 * status also against a real server on a loopback port.
 */
class IngestCommandTest {

  private record Output(int code, String out, String err) {}

  private static Output run(String... args) throws Exception {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int code = Main.run(args, Map.of("HOME", "/nonexistent"), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void ingests_a_folder_once_reports_failures_and_keeps_count(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Files.writeString(inbox.resolve("notes.txt"), "Loupe indexes the quarterly revenue report.\n\nA second paragraph.");
    Files.writeString(inbox.resolve("readme.md"), "# Title\n\nMarkdown body about lighthouses.");
    ImageIO.write(new BufferedImage(80, 60, BufferedImage.TYPE_INT_RGB), "png", inbox.resolve("picture.png").toFile());
    Files.write(inbox.resolve("broken.pdf"), "%PDF-1.7\nnot really a pdf".getBytes(StandardCharsets.US_ASCII));

    Output first = run("ingest", "--data", data.toString(), inbox.toString());

    assertEquals(1, first.code(), first.out() + first.err());
    assertTrue(first.out().contains("4 files: 3 done, 1 failed"), first.out());
    assertTrue(first.out().contains("broken.pdf"), first.out());
    // Without models: passages keyword-only, images skipped; each said once with the command that fixes it.
    assertTrue(first.err().contains("./loupe models pull all-minilm-l6-v2"), first.err());
    assertTrue(first.err().contains("./loupe models pull clip-vit-b32"), first.err());

    Output again = run("ingest", "--data", data.toString(), inbox.toString());
    assertEquals(first.out(), again.out(), "a second ingest of the same files changes nothing");

    Output status = run("status", "--data", data.toString());
    assertEquals(0, status.code(), status.err());
    assertTrue(status.out().contains("4 files: 3 done, 0 pending, 1 failed"), status.out());
    assertTrue(status.out().contains("broken.pdf"), status.out());
  }

  @Test
  void status_asks_the_running_server_for_its_live_state_and_reads_the_journal_once_it_has_closed(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Path inbox = data.resolve("inbox");
    LoupeServer server = Main.start(new ServerConfig("127.0.0.1", 0, data, inbox));
    try {
      assertTrue(Files.isRegularFile(data.resolve("serve.json")), "the server says where it listens");
      Files.writeString(inbox.resolve("tides.txt"), words(new Random(7), 400));
      Files.write(inbox.resolve("broken.pdf"), "%PDF-1.7\nnot really a pdf".getBytes(StandardCharsets.US_ASCII));

      // Taken once their size has been stable for the settle time. No clock is asserted: the
      // deadline only bounds a hang.
      long deadline = System.nanoTime() + 120_000_000_000L;
      Output live;
      do {
        Thread.sleep(200);
        live = run("status", "--data", data.toString());
        assertEquals(0, live.code(), live.out() + live.err());
      } while (!live.out().contains("2 files: 1 done, 0 pending, 1 failed") && System.nanoTime() < deadline);
      assertTrue(live.out().startsWith("loupe serve at " + server.localUrl() + " (pid " + ProcessHandle.current().pid() + ") is running"),
          live.out());
      assertTrue(live.out().contains("2 files: 1 done, 0 pending, 1 failed"), live.out());
      assertTrue(live.out().contains("  corrupt: 1"), live.out());
      assertTrue(live.out().contains("  failed " + inbox.resolve("broken.pdf").toAbsolutePath() + ": "), live.out());
      assertTrue(live.out().contains("nothing in progress; "), live.out());

      post(server, "api/ingest/pause");
      Output paused = run("status", "--data", data.toString());
      assertEquals(0, paused.code(), paused.err());
      assertTrue(paused.out().lines().findFirst().orElseThrow().endsWith(" is paused"), paused.out());
    } finally {
      server.close();
    }

    assertFalse(Files.exists(data.resolve("serve.json")), "a clean close removes serve.json");
    Output offline = run("status", "--data", data.toString());
    assertEquals(0, offline.code(), offline.err());
    assertTrue(offline.out().startsWith("2 files: 1 done, 0 pending, 1 failed; "), offline.out());
  }

  @Test
  void a_serve_file_left_by_a_killed_server_is_ignored_while_the_folder_is_free(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Files.writeString(inbox.resolve("notes.txt"), words(new Random(11), 50));
    assertEquals(0, run("ingest", "--data", data.toString(), inbox.toString()).code());
    ServeFile.ofThisProcess(URI.create("http://127.0.0.1:" + closedPort() + "/")).write(data);

    Output o = run("status", "--data", data.toString());

    assertEquals(0, o.code(), o.out() + o.err());
    assertTrue(o.out().startsWith("1 files: 1 done, 0 pending, 0 failed"), o.out());
  }

  @Test
  void a_server_that_does_not_answer_while_the_folder_is_held_is_one_line_naming_its_url(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    int port = closedPort();
    try (DirectoryLock held = DirectoryLock.acquire(data.resolve("journal"))) {
      ServeFile.ofThisProcess(URI.create("http://127.0.0.1:" + port + "/")).write(data);

      Output o = run("status", "--data", data.toString());

      assertEquals(1, o.code(), o.out() + o.err());
      assertEquals(1, o.err().lines().count(), o.err());
      assertTrue(o.err().startsWith("loupe status: the data folder " + data + " is in use"), o.err());
      assertTrue(o.err().contains("http://127.0.0.1:" + port + "/api/ingest/status (connection refused)"), o.err());
      assertEquals("", o.out());
    }
  }

  @Test
  void a_folder_held_without_a_serve_file_is_refused_in_one_line(@TempDir Path tmp) throws Exception {
    Path data = tmp.resolve("data");
    try (DirectoryLock held = DirectoryLock.acquire(data.resolve("journal"))) {
      Output o = run("status", "--data", data.toString());

      assertEquals(1, o.code(), o.out() + o.err());
      assertEquals(1, o.err().lines().count(), o.err());
      assertTrue(o.err().startsWith("loupe status: the data folder " + data + " is in use"), o.err());
    }
  }

  /** A loopback port that was free a moment ago and has nothing listening now. */
  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static void post(LoupeServer server, String path) throws IOException, InterruptedException {
    try (HttpClient client = HttpClient.newHttpClient()) {
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(server.localUrl().resolve(path))
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
    }
  }

  /** Plain text of {@code n} words drawn with {@code random}. */
  private static String words(Random random, int n) {
    String[] vocabulary = {"tide", "lighthouse", "harbour", "keeper", "lamp", "storm", "rock", "signal", "night", "coast"};
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < n; i++) {
      text.append(vocabulary[random.nextInt(vocabulary.length)]).append(i % 12 == 11 ? ".\n" : " ");
    }
    return text.toString();
  }

  @Test
  void names_a_path_that_does_not_exist(@TempDir Path tmp) throws Exception {
    Output o = run("ingest", "--data", tmp.resolve("data").toString(), tmp.resolve("missing").toString());
    assertEquals(2, o.code());
    assertTrue(o.err().contains("missing does not exist"), o.err());
  }

  @Test
  void status_of_a_fresh_data_folder_says_nothing_was_ingested(@TempDir Path tmp) throws Exception {
    Output o = run("status", "--data", tmp.toString());
    assertEquals(0, o.code(), o.err());
    assertTrue(o.out().contains("nothing ingested yet"), o.out());
  }

  @Test
  void the_data_folders_settings_set_the_limits(@TempDir Path tmp) throws Exception {
    Path data = Files.createDirectories(tmp.resolve("data"));
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Files.writeString(data.resolve("loupe.properties"), "# smaller than the default\ningest.max-file-size = 100B\n");
    Files.writeString(inbox.resolve("small.txt"), "A short note.");
    Files.writeString(inbox.resolve("large.txt"), "A longer note about lighthouses. ".repeat(10));

    Output o = run("ingest", "--data", data.toString(), inbox.toString());

    assertEquals(1, o.code(), o.out() + o.err());
    assertTrue(o.out().contains("2 files: 1 done, 1 failed"), o.out());
    assertTrue(o.out().contains("large.txt") && o.out().contains("over_limit"), o.out());
  }

  @Test
  void a_bad_setting_stops_ingest_and_serve_in_one_line_naming_it(@TempDir Path tmp) throws Exception {
    Path data = Files.createDirectories(tmp.resolve("data"));
    Files.writeString(data.resolve("loupe.properties"), "ingest.max-video-duration=4 hours\n");
    Output ingest = run("ingest", "--data", data.toString(), tmp.toString());
    assertEquals(1, ingest.code(), ingest.out() + ingest.err());
    assertEquals(1, ingest.err().lines().filter(l -> l.startsWith("loupe ingest: ")).count(), ingest.err());
    assertTrue(ingest.err().contains(data.resolve("loupe.properties") + ": ingest.max-video-duration=4 hours is not a duration"), ingest.err());

    Files.writeString(data.resolve("loupe.properties"), "ingset.workers=2\n");
    Output serve = run("serve", "--data", data.toString(), "--port", "0");
    assertEquals(1, serve.code(), serve.out() + serve.err());
    assertTrue(serve.err().contains("unknown setting ingset.workers"), serve.err());
  }

  @Test
  void the_progress_line_counts_the_files_under_the_paths_against_their_total(@TempDir Path tmp) throws Exception {
    Files.writeString(tmp.resolve("a.txt"), "a");
    Files.writeString(tmp.resolve(".hidden"), "h");
    Files.writeString(tmp.resolve("b.tmp"), "t");
    Files.createDirectories(tmp.resolve("sub"));
    Files.writeString(tmp.resolve("sub/c.md"), "c");
    Files.createDirectories(tmp.resolve(".git"));
    Files.writeString(tmp.resolve(".git/config"), "g");
    assertEquals(2, IngestCommand.countFiles(java.util.List.of(tmp)), "hidden, temporary and hidden folders' files are not counted");

    var status = new dev.loupe.indexer.IngestStatus(dev.loupe.indexer.IngestStatus.State.RUNNING, 0, 0, 0, 0, 0, 0, 0, 0, 0, Map.of(),
        0, 2.0, 0, null);
    var mine = new dev.loupe.indexer.IngestSummary(4, 3, 1, 17, java.util.List.of());
    assertEquals("ingest: 4 of 10 files done (1 failed); 17 items; 2.0 files/s, about 3 s left" + System.lineSeparator(),
        IngestCommand.progressLine(mine, 10, status, false));
    assertEquals("ingest: 4 files done (1 failed); 17 items; 2.0 files/s" + System.lineSeparator(),
        IngestCommand.progressLine(mine, -1, status, false), "no total yet: no time left either");
  }
}
