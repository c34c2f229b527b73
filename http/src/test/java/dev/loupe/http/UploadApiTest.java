package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /api/ingest} against the real server ({@link Main#start}, no models, a random
 * loopback port) with its ingester watching the inbox: uploads land under safe names, get
 * indexed, and every refusal leaves nothing behind, not even in the staging folder.
 */
class UploadApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT = HttpClient.newHttpClient();
  /** Bounds a hang only; no test asserts how fast ingestion is. */
  private static final Duration HANG = Duration.ofMinutes(2);
  private static final String BOUNDARY = "loupe-upload-test";
  private static final int LIMIT = 4096;

  @TempDir Path data;
  private Path inbox;
  private LoupeServer server;

  private record Answer(int status, String text) {
    JsonNode json() throws IOException {
      return JSON.readTree(text);
    }
  }

  private record FilePart(String name, byte[] content) {
    static FilePart text(String name, String content) {
      return new FilePart(name, content.getBytes(StandardCharsets.UTF_8));
    }
  }

  @BeforeEach
  void startServer() throws IOException {
    Files.writeString(data.resolve("loupe.properties"), "ingest.settle-time=200ms\ningest.max-file-size=" + LIMIT + "\n");
    inbox = data.resolve("inbox");
    server = Main.start(new ServerConfig("127.0.0.1", 0, data, inbox));
  }

  @AfterEach
  void stopServer() throws IOException {
    if (server != null) server.close();
  }

  private static byte[] multipart(List<FilePart> files) throws IOException {
    var body = new ByteArrayOutputStream();
    body.write(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n").getBytes(StandardCharsets.UTF_8));
    for (FilePart f : files) {
      body.write(("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
          + f.name().replace("\"", "\\\"") + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      body.write(f.content());
      body.write("\r\n".getBytes(StandardCharsets.UTF_8));
    }
    body.write(("--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8));
    return body.toByteArray();
  }

  private Answer post(String contentType, byte[] body) throws Exception {
    HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(server.localUrl().resolve("api/ingest"))
        .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), r.body());
  }

  private Answer upload(FilePart... files) throws Exception {
    return post("multipart/form-data; boundary=" + BOUNDARY, multipart(List.of(files)));
  }

  private Answer get(String path) throws Exception {
    HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(server.localUrl().resolve(path)).build(),
        HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), r.body());
  }

  private static void assertError(Answer a, int status, String... parts) throws IOException {
    assertEquals(status, a.status(), a.text());
    for (String part : parts) {
      assertTrue(a.json().get("error").asText().contains(part), a.text());
    }
  }

  /** Plain files in the inbox, by name; the staging folder is hidden and listed apart. */
  private List<String> inboxFiles() throws IOException {
    try (Stream<Path> files = Files.list(inbox)) {
      return files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private List<String> staging() throws IOException {
    Path staging = inbox.resolve(UploadApi.STAGING);
    if (!Files.isDirectory(staging)) return List.of();
    try (Stream<Path> files = Files.list(staging)) {
      return files.map(p -> p.getFileName().toString()).toList();
    }
  }

  private void awaitDone(int files) throws Exception {
    long giveUp = System.nanoTime() + HANG.toNanos();
    while (get("api/ingest/status").json().get("done").asInt() < files) {
      assertTrue(System.nanoTime() < giveUp, "no progress: " + get("api/ingest/status").text());
      Thread.sleep(50);
    }
  }

  @Test
  void two_files_uploaded_in_one_request_land_in_the_inbox_and_become_searchable() throws Exception {
    Answer a = upload(FilePart.text("lighthouse.txt", "The lighthouse keeper logs every storm that passes the cape."),
        FilePart.text("bread.txt", "A recipe for sourdough bread with a long cold proof."));

    assertEquals(202, a.status(), a.text());
    JsonNode files = a.json().get("files");
    assertEquals(2, files.size(), a.text());
    assertEquals("lighthouse.txt", files.get(0).get("name").asText());
    assertEquals("lighthouse.txt", files.get(0).get("originalName").asText());
    assertEquals("text/plain", files.get(0).get("type").asText());
    assertEquals(inbox.resolve("lighthouse.txt").toString(), files.get(0).get("path").asText());
    assertEquals(Files.size(inbox.resolve("bread.txt")), files.get(1).get("bytes").asLong());
    assertTrue(a.json().get("ingest").has("pending"), a.text());
    assertEquals(List.of("bread.txt", "lighthouse.txt"), inboxFiles());
    assertEquals(List.of(), staging());

    awaitDone(2);
    Answer found = get("api/search?q=" + URLEncoder.encode("sourdough", StandardCharsets.UTF_8));
    assertEquals(200, found.status(), found.text());
    assertEquals(inbox.resolve("bread.txt").toString(), found.json().get("hits").get(0).get("path").asText());
  }

  @Test
  void names_are_made_safe_plain_names_inside_the_inbox_and_a_taken_name_gets_a_number() throws Exception {
    Answer a = upload(FilePart.text("../../evil.txt", "one"), FilePart.text("C:\\x\\..\\y.txt", "two"),
        FilePart.text(".hidden", "three"), FilePart.text("evil.txt", "four"), FilePart.text("CON.txt", "five"),
        FilePart.text("tab\there\u202Etxt.exe.txt", "six"));

    assertEquals(202, a.status(), a.text());
    List<String> names = new ArrayList<>();
    a.json().get("files").forEach(f -> names.add(f.get("name").asText()));
    assertEquals(List.of("evil.txt", "y.txt", "hidden", "evil (2).txt", "_CON.txt", "tab_here_txt.exe.txt"), names);
    assertEquals("../../evil.txt", a.json().get("files").get(0).get("originalName").asText());
    assertEquals("one", Files.readString(inbox.resolve("evil.txt")));
    assertEquals("four", Files.readString(inbox.resolve("evil (2).txt")), "the first evil.txt is not overwritten");
    assertEquals(List.of(), staging());
    assertTrue(Files.notExists(data.getParent().resolve("evil.txt")));

    Answer again = upload(FilePart.text("evil.txt", "seven"));
    assertEquals("evil (3).txt", again.json().get("files").get(0).get("name").asText());
  }

  @Test
  void a_file_over_the_limit_is_refused_with_413_and_nothing_of_the_request_is_kept() throws Exception {
    byte[] big = "x".repeat(LIMIT + 1).getBytes(StandardCharsets.UTF_8);

    Answer a = upload(FilePart.text("small.txt", "fits"), new FilePart("big.txt", big));

    assertError(a, 413, "'big.txt'", String.valueOf(LIMIT), "ingest.max-file-size");
    assertEquals(List.of(), inboxFiles());
    assertEquals(List.of(), staging());
    assertEquals(202, upload(new FilePart("exact.txt", "y".repeat(LIMIT).getBytes(StandardCharsets.UTF_8))).status());
  }

  @Test
  void a_file_no_extractor_reads_is_refused_with_415_naming_its_type() throws Exception {
    byte[] noise = new byte[2048];
    new Random(42).nextBytes(noise);

    Answer a = upload(FilePart.text("fine.txt", "text"), new FilePart("noise.bin", noise));

    assertError(a, 415, "'noise.bin'", "application/octet-stream");
    assertEquals(List.of(), inboxFiles());
    assertEquals(List.of(), staging());
  }

  @Test
  void requests_that_are_not_a_multipart_upload_of_files_are_refused_with_400() throws Exception {
    assertError(post("application/json", "{}".getBytes(StandardCharsets.UTF_8)), 400, "multipart/form-data");
    assertError(upload(), 400, "no file part");
    byte[] cut = ("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.txt\"\r\n\r\nhalf a file")
        .getBytes(StandardCharsets.UTF_8);
    assertError(post("multipart/form-data; boundary=" + BOUNDARY, cut), 400, "malformed multipart");
    assertError(post("multipart/form-data; boundary=" + BOUNDARY, "no boundary at all".getBytes(StandardCharsets.UTF_8)),
        400, "malformed multipart");
    byte[] headless = ("--" + BOUNDARY + "\r\nno colon here\r\n\r\nx\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8);
    assertError(post("multipart/form-data; boundary=" + BOUNDARY, headless), 400, "malformed multipart");
    FilePart[] many = new FilePart[UploadApi.MAX_FILES + 1];
    for (int i = 0; i < many.length; i++) many[i] = FilePart.text("n" + i + ".txt", "note " + i);
    assertError(upload(many), 400, String.valueOf(UploadApi.MAX_FILES));
    assertEquals(List.of(), inboxFiles());
    assertEquals(List.of(), staging());
  }

  @Test
  void sanitized_names_keep_their_extension_within_the_length_limit() {
    String name = UploadApi.sanitize("é".repeat(300) + ".pdf");
    assertTrue(name.endsWith(".pdf"), name);
    assertTrue(name.getBytes(StandardCharsets.UTF_8).length <= UploadApi.MAX_NAME_BYTES, name);
    assertEquals("\u00e9.txt", UploadApi.sanitize("e\u0301.txt"), "NFC");
    assertEquals("upload", UploadApi.sanitize(".."));
    assertEquals("upload", UploadApi.sanitize("dir/"));
    assertEquals("a_b.txt", UploadApi.sanitize("a:b.txt"));
  }
}
