package dev.loupe.indexer.isolate;

import dev.loupe.indexer.ContentProcessor;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Processes contents in a child process started with {@code command} (which runs {@link
 * ChildServer} over its standard input and output; its standard error goes to this process's).
 * The child is started at the first content and again after it dies. A content whose child dies
 * is tried again in a new one, up to {@value #ATTEMPTS} times; then it fails with reason {@code
 * crash}, so one file that crashes a native decoder fails alone and ingestion goes on.
 *
 * <p>Why: extraction and embedding allocate hundreds of megabytes a second, and a JVM's collector
 * pauses every thread of it; in a child process at background priority those pauses, the JIT's
 * work on extraction code and native crashes stop the child, never the server's searches.
 *
 * <p>Thread-safe.
 */
public final class ChildProcessor implements ContentProcessor {
  private static final System.Logger LOG = System.getLogger(ChildProcessor.class.getName());
  static final int ATTEMPTS = 3;

  private final List<String> command;
  private final AtomicInteger ids = new AtomicInteger();
  private final AtomicInteger starts = new AtomicInteger();
  private Child child; // guarded by this
  private boolean closed; // guarded by this

  private record Child(Process process, DataOutputStream requests, Map<Integer, CompletableFuture<Processed>> pending,
      java.util.concurrent.atomic.AtomicBoolean dead) {}

  /** The child could not be started or did not answer its handshake: not the content's fault. */
  public static final class CannotStart extends IOException {
    CannotStart(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** A content's child died before answering. */
  private static final class Died extends IOException {
    Died(String message) {
      super(message);
    }
  }

  public ChildProcessor(List<String> command) {
    this.command = List.copyOf(Objects.requireNonNull(command, "command"));
    if (this.command.isEmpty()) throw new IllegalArgumentException("the child's command is empty");
  }

  /** How many children were started so far (for tests and the log). */
  public int starts() {
    return starts.get();
  }

  /** The running child's process id, if one runs (for tests). */
  public synchronized java.util.OptionalLong pid() {
    return child == null || !child.process().isAlive() ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(child.process().pid());
  }

  @Override
  public Processed process(String sha, Path path) throws IOException, InterruptedException {
    Died last = null;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      Child c = child();
      int id = ids.incrementAndGet();
      CompletableFuture<Processed> answer = new CompletableFuture<>();
      c.pending().put(id, answer);
      if (c.dead().get() && c.pending().remove(id) != null) {
        last = new Died("the ingestion process " + c.process().pid() + " died");
        continue; // it died between child() and put: the reader had already failed what was pending
      }
      try {
        synchronized (c.requests()) {
          c.requests().writeInt(id);
          Wire.writeString(c.requests(), sha);
          Wire.writeString(c.requests(), path.toString());
          c.requests().flush();
        }
      } catch (IOException e) {
        // The reader thread sees the child's end too and fails what is pending, this one included.
      }
      try {
        return answer.get();
      } catch (ExecutionException e) {
        if (e.getCause() instanceof Died d) {
          last = d;
          LOG.log(Level.WARNING, "ingest: " + d.getMessage() + " while processing " + path + " (attempt " + attempt + " of " + ATTEMPTS + ")");
          continue;
        }
        if (e.getCause() instanceof IOException io) throw io;
        throw new IOException(e.getCause());
      } catch (CancellationException e) {
        throw new InterruptedException("closing");
      } catch (InterruptedException e) {
        c.pending().remove(id);
        throw e;
      }
    }
    throw new IOException("the ingestion process died " + ATTEMPTS + " times while processing it (" + last.getMessage() + ")");
  }

  private synchronized Child child() throws IOException, InterruptedException {
    if (closed) throw new InterruptedException("closing");
    if (child != null && child.process().isAlive()) return child;
    ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    starts.incrementAndGet();
    DataInputStream answers = new DataInputStream(new BufferedInputStream(p.getInputStream(), 1 << 16));
    try {
      int magic = answers.readInt(), version = answers.readInt();
      if (magic != Wire.MAGIC || version != Wire.VERSION) {
        p.destroyForcibly();
        throw new CannotStart("the ingestion process " + command + " does not speak this protocol (" + Integer.toHexString(magic) + " v" + version + ")", null);
      }
    } catch (IOException e) {
      p.destroyForcibly();
      if (e instanceof CannotStart) throw e;
      throw new CannotStart("the ingestion process could not start (" + exit(p) + "; its messages are above): " + String.join(" ", command), e);
    }
    Child c = new Child(p, new DataOutputStream(new BufferedOutputStream(p.getOutputStream(), 1 << 16)), new ConcurrentHashMap<>(),
        new java.util.concurrent.atomic.AtomicBoolean());
    Thread.ofPlatform().daemon().name("loupe-isolated-reader-" + p.pid()).start(() -> read(c, answers));
    LOG.log(Level.INFO, "ingest: extraction and embedding run in process " + p.pid());
    child = c;
    return c;
  }

  private void read(Child c, DataInputStream answers) {
    String end;
    try {
      while (true) {
        int id = answers.readInt();
        CompletableFuture<Processed> f = c.pending().remove(id);
        try {
          Processed p = Wire.readProcessed(answers);
          if (f != null) f.complete(p);
        } catch (Wire.ProcessorError e) {
          if (f != null) f.completeExceptionally(e);
        }
      }
    } catch (IOException e) {
      end = e instanceof java.io.EOFException ? "it ended" : "its output broke off: " + e.getMessage();
    }
    c.dead().set(true);
    c.process().destroyForcibly();
    Died died = new Died("the ingestion process " + c.process().pid() + " died (" + exit(c.process()) + ", " + end + ")");
    c.pending().values().forEach(f -> f.completeExceptionally(died));
    c.pending().clear();
  }

  /** How {@code p} ended, after waiting up to 5 s: its exit code, or that it still runs. */
  static String exit(Process p) {
    try {
      if (p.waitFor(5, TimeUnit.SECONDS)) return "exit code " + p.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return "still running";
  }

  /** Ends the child: closes its input, so it answers what it has and exits; kills it after 30 s. */
  @Override
  public void close() {
    Child c;
    synchronized (this) {
      closed = true;
      c = child;
      child = null;
    }
    if (c == null) return;
    try {
      c.requests().close();
    } catch (IOException e) {
      // already gone
    }
    try {
      if (!c.process().waitFor(30, TimeUnit.SECONDS)) c.process().destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      c.process().destroyForcibly();
      Thread.currentThread().interrupt();
    }
    c.pending().values().forEach(f -> f.cancel(false));
  }
}
