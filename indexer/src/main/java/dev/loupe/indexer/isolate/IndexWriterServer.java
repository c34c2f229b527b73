package dev.loupe.indexer.isolate;

import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The writer process's side of {@link RemoteIndexes}: applies the server's writes to the indexes it
 * holds the writers of, in the order they come, and commits when told, answering each commit once
 * it is durable. Returns when the server closes the input; what came after the last commit is then
 * left uncommitted (the caller closes the indexes with {@link LuceneVectorIndex#rollbackAndClose()}),
 * because the server's journal made durable only what it committed.
 *
 * <p>A write the index refuses is reported as FAILED and ends the serving with the exception: the
 * server checked it before sending, so it is not the input's fault but the writer's.
 */
public final class IndexWriterServer {
  private IndexWriterServer() {}

  /**
   * Serves writes for {@code text} and {@code visual} (null when the server has no visual index)
   * over {@code in}/{@code out} until {@code in} ends; closes neither stream nor the indexes.
   */
  public static void serve(InputStream in, OutputStream out, LuceneVectorIndex text, LuceneVectorIndex visual) throws IOException {
    DataInputStream ops = new DataInputStream(new BufferedInputStream(in, 1 << 16));
    DataOutputStream answers = new DataOutputStream(new BufferedOutputStream(out));
    answers.writeInt(WriterWire.MAGIC);
    answers.writeInt(WriterWire.VERSION);
    answers.flush();
    while (true) {
      byte op;
      try {
        op = ops.readByte();
      } catch (EOFException e) {
        return; // the server is done (or gone)
      }
      try {
        switch (op) {
          case WriterWire.PUT -> {
            LuceneVectorIndex index = index(WriterWire.readIndex(ops), text, visual);
            String id = Wire.readString(ops);
            float[] vector = WriterWire.readVector(ops);
            Metadata metadata = WriterWire.readMetadata(ops);
            put(index, id, vector, metadata);
          }
          case WriterWire.DELETE -> index(WriterWire.readIndex(ops), text, visual).delete(Wire.readString(ops));
          case WriterWire.COMMIT -> {
            byte which = WriterWire.readIndex(ops);
            long sequence = ops.readLong();
            index(which, text, visual).commit();
            answers.writeByte(WriterWire.COMMITTED);
            answers.writeByte(which);
            answers.writeLong(sequence);
            answers.flush();
          }
          default -> throw new IOException("corrupt stream: operation " + op);
        }
      } catch (IOException | RuntimeException e) {
        try {
          answers.writeByte(WriterWire.FAILED);
          Wire.writeString(answers, "the index writer process failed: " + e);
          answers.flush();
        } catch (IOException gone) {
          e.addSuppressed(gone);
        }
        throw e;
      }
    }
  }

  /** Adds the item, or replaces the one with its id: the server may send a write again after a writer died. */
  private static void put(LuceneVectorIndex index, String id, float[] vector, Metadata metadata) {
    if (vector == null) {
      index.delete(id); // a no-op when absent; update cannot turn an item into a keyword-only one
      index.addKeywordOnly(id, metadata);
    } else if (index.contains(id)) {
      index.update(id, vector, metadata);
    } else {
      index.add(id, vector, metadata);
    }
  }

  private static LuceneVectorIndex index(byte which, LuceneVectorIndex text, LuceneVectorIndex visual) throws IOException {
    LuceneVectorIndex index = which == WriterWire.TEXT ? text : visual;
    if (index == null) throw new IOException("the server wrote to the " + WriterWire.name(which) + " index, which this writer does not hold");
    return index;
  }
}
