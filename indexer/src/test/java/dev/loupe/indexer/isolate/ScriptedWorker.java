package dev.loupe.indexer.isolate;

import dev.loupe.indexer.ContentProcessor;
import dev.loupe.vectorstore.Metadata;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A child for {@link ChildProcessorTest}: answers by the file's name. {@code ok-*}: two items (a
 * passage without a vector, a visual with one); {@code bad-*}: a failure; {@code gone-*}: gone;
 * {@code error-*}: the processor throws; {@code crash-*}: the process dies at once (as a native
 * crash would); {@code crash-once-*}: dies unless the file's marker exists, which it creates first.
 */
public final class ScriptedWorker {
  private ScriptedWorker() {}

  public static void main(String[] args) throws Exception {
    var out = new FileOutputStream(FileDescriptor.out);
    System.setOut(System.err);
    ContentProcessor processor = new ContentProcessor() {
      @Override
      public Processed process(String sha, Path path) throws IOException {
        String name = path.getFileName().toString();
        if (name.startsWith("crash-once-")) {
          Path marker = path.resolveSibling(name + ".marker");
          if (!Files.exists(marker)) {
            Files.createFile(marker);
            Runtime.getRuntime().halt(134);
          }
          name = "ok-" + name;
        }
        if (name.startsWith("crash-")) Runtime.getRuntime().halt(139);
        if (name.startsWith("bad-")) return new Failed("encrypted", path + " is encrypted");
        if (name.startsWith("gone-")) return new Gone();
        if (name.startsWith("error-")) throw new IOException("the scripted processor cannot read " + path);
        return new Items("scripted+novisual", List.of(
            new Item(0, false, null, new Metadata("chunk", path.toString(), 2, 0L, "passage of " + sha + " ünïcödé",
                Map.of("start", "0", "end", "12"))),
            new Item(1, true, new float[] {0.5f, -0.25f, Float.MIN_VALUE, 3e38f},
                new Metadata("image", path.toString(), 0, 1_700_000_000_000L, null, Map.of("thumbnail", "thumbs/" + sha + "/1.jpg")))));
      }

      @Override
      public void close() {}
    };
    ChildServer.serve(System.in, out, processor);
  }
}
