package dev.loupe.indexer.isolate;

import dev.loupe.indexer.ContentProcessor;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The child's side of {@link ChildProcessor}: reads requests from the server, processes each on a
 * thread of its own (the server bounds how many are outstanding: one per ingest worker) and
 * writes the answers in the order they finish. Returns when the server closes the input, after
 * answering what it had.
 */
public final class ChildServer {
  private ChildServer() {}

  /** Serves {@code processor} over {@code in}/{@code out} until {@code in} ends; closes neither stream nor the processor. */
  public static void serve(InputStream in, OutputStream out, ContentProcessor processor) throws IOException, InterruptedException {
    DataInputStream requests = new DataInputStream(new BufferedInputStream(in));
    DataOutputStream answers = new DataOutputStream(new BufferedOutputStream(out, 1 << 16));
    answers.writeInt(Wire.MAGIC);
    answers.writeInt(Wire.VERSION);
    answers.flush();
    ExecutorService pool = Executors.newCachedThreadPool(Thread.ofPlatform().daemon().name("loupe-isolated-worker-", 0).factory());
    try {
      while (true) {
        int id;
        String sha, path;
        try {
          id = requests.readInt();
        } catch (EOFException e) {
          return; // the server is done
        }
        sha = Wire.readString(requests);
        path = Wire.readString(requests);
        pool.execute(() -> answer(processor, answers, id, sha, path));
      }
    } finally {
      pool.shutdown();
      pool.awaitTermination(1, TimeUnit.MINUTES);
      synchronized (answers) {
        answers.flush();
      }
    }
  }

  private static void answer(ContentProcessor processor, DataOutputStream answers, int id, String sha, String path) {
    ContentProcessor.Processed result = null;
    String error = null;
    try {
      result = processor.process(sha, Path.of(path));
    } catch (IOException | RuntimeException e) {
      error = "the ingestion process could not process " + path + ": " + e;
    } catch (InterruptedException e) {
      error = "the ingestion process was interrupted while processing " + path;
    }
    try {
      synchronized (answers) {
        if (result != null) Wire.writeProcessed(answers, id, result);
        else Wire.writeError(answers, id, error);
        answers.flush();
      }
    } catch (IOException e) {
      // The server went away: nothing to answer to.
    }
  }
}
