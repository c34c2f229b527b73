package dev.loupe.indexer;

import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.Media;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CancellationException;

/**
 * Gathers the inputs of many files into batches for one embedder, on a thread of its own: a
 * worker {@linkplain #submit submits} an input and gets a future of its vector; the thread takes
 * what waits, up to the batch size, and embeds it in one call. The queue is bounded, so a worker
 * that submits faster than the model embeds waits (back-pressure), and a file's pixels are held
 * only until their batch is embedded.
 *
 * <p>A batch that fails is embedded again one input at a time, so one bad input (an empty text)
 * fails only its own future. Thread-safe.
 */
final class BatchEmbedder implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(BatchEmbedder.class.getName());

  private record Request(Media input, CompletableFuture<float[]> vector) {}

  private final Embedder embedder;
  private final int batch;
  private final BlockingQueue<Request> queue;
  private final Thread thread;
  private volatile boolean closed;

  BatchEmbedder(Embedder embedder, int batch, String name) {
    this.embedder = embedder;
    this.batch = batch;
    this.queue = new ArrayBlockingQueue<>(4 * batch);
    this.thread = Thread.ofPlatform().daemon().name("loupe-ingest-embed-" + name).start(Ingester.background(this::loop));
  }

  Embedder embedder() {
    return embedder;
  }

  /** Queues {@code input}, waiting while the queue is full. */
  CompletableFuture<float[]> submit(Media input) throws InterruptedException {
    Request r = new Request(input, new CompletableFuture<>());
    if (closed) {
      r.vector.completeExceptionally(new CancellationException("the ingester is closed"));
      return r.vector;
    }
    queue.put(r);
    return r.vector;
  }

  private void loop() {
    List<Request> taken = new ArrayList<>(batch);
    while (!closed) {
      try {
        taken.add(queue.take());
      } catch (InterruptedException e) {
        break;
      }
      queue.drainTo(taken, batch - 1);
      embed(taken);
      taken.clear();
    }
    List<Request> left = new ArrayList<>();
    queue.drainTo(left);
    left.forEach(r -> r.vector.completeExceptionally(new CancellationException("the ingester is closed")));
  }

  private void embed(List<Request> requests) {
    try {
      List<float[]> vectors = embedder.embedAll(requests.stream().map(Request::input).toList());
      for (int i = 0; i < requests.size(); i++) {
        requests.get(i).vector.complete(vectors.get(i));
      }
    } catch (RuntimeException e) {
      if (requests.size() == 1) {
        requests.getFirst().vector.completeExceptionally(e);
        return;
      }
      LOG.log(System.Logger.Level.DEBUG, "a batch of " + requests.size() + " failed (" + e + "); embedding one at a time");
      for (Request r : requests) {
        embed(List.of(r));
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
