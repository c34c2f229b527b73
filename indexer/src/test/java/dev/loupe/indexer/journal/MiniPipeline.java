package dev.loupe.indexer.journal;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.flat.Encoding;
import dev.loupe.vectorstore.flat.FlatVectorIndex;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The journal's protocol run by a minimal single-threaded pipeline over a real flat vector index:
 * the ingester minus extraction and embedding. Each content gets {@link #itemCount} items with
 * seeded vectors; the index is committed every {@value #BATCH} writes, so a file's items can span
 * commits.
 */
final class MiniPipeline implements Closeable {
  static final int BATCH = 16, RESERVE_STEP = 4, DIMENSION = 8;

  final IngestJournal journal;
  final FlatVectorIndex index;
  private final Path folder;
  private final Runnable afterCommit;
  private final Map<String, Integer> doneAfterCommit = new LinkedHashMap<>();
  private final List<String> purgedAfterCommit = new ArrayList<>();
  private int uncommitted;
  int added;

  MiniPipeline(Path folder, Path data, Runnable afterCommit) throws IOException {
    this.folder = folder;
    this.afterCommit = afterCommit;
    this.journal = IngestJournal.open(data.resolve("journal"));
    try {
      this.index = FlatVectorIndex.open(data.resolve("index"), new IndexSpec(DIMENSION, Similarity.COSINE), Encoding.F32, 1);
    } catch (IOException | RuntimeException e) {
      journal.close();
      throw e;
    }
  }

  /** 1 to 9 items, from the hash. */
  static int itemCount(String sha) {
    return 1 + Character.digit(sha.charAt(0), 16) % 9;
  }

  /** Recovers, scans the folder, and commits until no work is left. */
  void run() throws IOException {
    for (Work work : journal.recover()) {
      switch (work) {
        case Work.Delete d -> delete(d);
        case Work.Ingest i -> {
          deleteItems(i.sha(), i.cleanBound());
          resume(i.sha());
        }
      }
    }
    scan();
    while (!doneAfterCommit.isEmpty() || !purgedAfterCommit.isEmpty() || uncommitted > 0) {
      commit();
    }
  }

  private void scan() throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(folder)) {
      files = walk.filter(Files::isRegularFile).sorted().toList();
    }
    for (Path p : files) {
      BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
      long mtime = IngestJournal.mtime(a.lastModifiedTime());
      if (journal.observe(p, a.size(), mtime) == Action.HASH) {
        handle(journal.hashed(p, sha256(p), a.size(), mtime));
      }
    }
    for (PathInfo known : journal.files()) {
      if (!Files.exists(Path.of(known.path()))) {
        journal.removed(Path.of(known.path())); // orphans wait for collectOrphans: moves keep their items
      }
    }
    for (Work.Delete d : journal.collectOrphans()) {
      delete(d);
    }
  }

  private void handle(Decision d) throws IOException {
    // A modified file: its old content goes in the same commits as the new one's items.
    for (String orphan : d.orphaned()) {
      Optional<Work.Delete> retired = journal.retire(orphan);
      if (retired.isPresent()) {
        delete(retired.get());
      }
    }
    if (d.action() == Action.INGEST) {
      ingest(d.sha());
    }
  }

  /** Ingests recovered pending content from a path that still has it, or abandons it. */
  private void resume(String sha) throws IOException {
    for (String path : journal.content(sha).orElseThrow().paths()) {
      Path p = Path.of(path);
      if (Files.isRegularFile(p) && sha256(p).equals(sha)) {
        ingest(sha);
        return;
      }
    }
    delete(journal.abandon(sha));
  }

  private void ingest(String sha) throws IOException {
    int n = itemCount(sha);
    String path = journal.content(sha).orElseThrow().paths().stream().findFirst().orElse("");
    for (int i = 0; i < n; i++) {
      if (i % RESERVE_STEP == 0) {
        journal.reserve(sha, Math.min(n, i + RESERVE_STEP));
      }
      index.add(IngestJournal.itemId(sha, i), vector(sha, i), Metadata.of("text", path));
      added++;
      if (++uncommitted >= BATCH) {
        commit();
      }
    }
    doneAfterCommit.put(sha, n);
  }

  private void delete(Work.Delete d) throws IOException {
    deleteItems(d.sha(), d.bound());
    purgedAfterCommit.add(d.sha());
    uncommitted++;
  }

  private void deleteItems(String sha, int bound) {
    for (int i = 0; i < bound; i++) {
      index.delete(IngestJournal.itemId(sha, i));
    }
  }

  private void commit() throws IOException {
    journal.sync(); // reservations and retirements durable before the index holds their effects
    index.commit();
    uncommitted = 0;
    afterCommit.run();
    var done = new LinkedHashMap<>(doneAfterCommit);
    var purged = new ArrayList<>(purgedAfterCommit);
    doneAfterCommit.clear();
    purgedAfterCommit.clear();
    done.forEach((sha, n) -> journal.done(sha, n, "mini"));
    for (String sha : purged) {
      Optional<Decision> again = journal.purged(sha);
      if (again.isPresent()) {
        ingest(sha);
      }
    }
  }

  static float[] vector(String sha, int ordinal) {
    SplittableRandom r = new SplittableRandom(sha.hashCode() * 31L + ordinal);
    float[] v = new float[DIMENSION];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextDouble(0.1, 1);
    }
    return v;
  }

  static String sha256(Path file) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      index.close();
    } finally {
      journal.close();
    }
  }

  /** The child JVM: runs the pipeline on {@code args[0]} with data in {@code args[1]}, reporting commits. */
  public static void main(String[] args) throws IOException {
    int[] commits = {0};
    MiniPipeline pipeline = new MiniPipeline(Path.of(args[0]), Path.of(args[1]),
        () -> System.out.println("COMMIT " + ++commits[0]));
    pipeline.run();
    System.out.println("END");
    Runtime.getRuntime().halt(0);
  }
}
