package dev.loupe.embeddings.model;

import dev.loupe.embeddings.model.ModelManifest.ModelFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Generated model files and manifests for the model manager's tests; no real model is needed. */
final class Fixtures {
  private Fixtures() {}

  static final String REVISION = "0123456789abcdef0123456789abcdef01234567";
  static final String ONNX = "onnx/model.onnx";
  static final String TOKENIZER = "tokenizer.json";

  /** Retries at once: the tests never wait on a clock. */
  static final ModelManager.Options FAST =
      new ModelManager.Options(Duration.ofSeconds(10), Duration.ofSeconds(60), 3, Duration.ZERO);

  /** {@code n} bytes from a generator seeded with {@code seed}; the seed is in the failure messages of the tests that use it. */
  static byte[] bytes(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** The files of a small text model: a 300 kB "onnx" file and a 20 kB "tokenizer". */
  static Map<String, byte[]> files(long seed) {
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put(ONNX, bytes(seed, 300_000));
    files.put(TOKENIZER, bytes(seed + 1, 20_000));
    return files;
  }

  /** A bert-family manifest for {@code files}, pinned by their real digests, downloaded from {@code base}/repo. */
  static ModelManifest manifest(String name, URI base, Map<String, byte[]> files) {
    return manifest(name, base, files, true, REVISION);
  }

  static ModelManifest manifest(String name, URI base, Map<String, byte[]> files, boolean pinned, String revision) {
    List<ModelFile> list = new ArrayList<>();
    files.forEach((path, content) -> list.add(
        pinned ? new ModelFile(path, content.length, sha256(content)) : new ModelFile(path, ModelFile.UNKNOWN_SIZE, null)));
    return new ModelManifest(
        name,
        ModelManifest.Family.BERT,
        "test model " + name,
        8,
        "test",
        new ModelManifest.Source(base + "/repo/resolve/{revision}/", revision),
        list,
        new ModelManifest.TextEncoder(ONNX, TOKENIZER, 16, null, null, null, "last_hidden_state", ModelManifest.Pooling.MEAN),
        null);
  }

  /** Serves {@code files} as {@code manifest}'s source at its pinned revision would. */
  static void serve(FileServer server, Map<String, byte[]> files, String revision) {
    files.forEach((path, content) -> server.put("/repo/resolve/" + revision + "/" + path, content));
  }

  static String url(String revision, String path) {
    return "/repo/resolve/" + revision + "/" + path;
  }

  static String sha256(byte[] content) {
    var md = Digests.sha256();
    md.update(content);
    return Digests.hex(md);
  }

  /** Writes {@code files} into {@code dir} in their layout. */
  static void writeFiles(Path dir, Map<String, byte[]> files) {
    try {
      for (var e : files.entrySet()) {
        Path p = dir.resolve(e.getKey());
        Files.createDirectories(p.getParent());
        Files.write(p, e.getValue());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A loopback port with nothing listening on it. */
  static int closedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Records what a pull or import reports. */
  static final class Recorder implements ModelManager.Progress {
    final List<String> notes = new ArrayList<>();
    long lastModelDone = -1;
    long lastModelTotal;

    @Override
    public synchronized void update(String file, long fileDone, long fileTotal, long modelDone, long modelTotal) {
      lastModelDone = modelDone;
      lastModelTotal = modelTotal;
    }

    @Override
    public synchronized void note(String line) {
      notes.add(line);
    }
  }
}
