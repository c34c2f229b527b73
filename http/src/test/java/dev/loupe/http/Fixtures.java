package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;

/** What the http module's tests share: an ingested data folder and generated pictures. */
final class Fixtures {
  private Fixtures() {}

  /** {@code loupe ingest --data data folder}, as a person runs it; fails the test unless it exits 0. */
  static void ingest(Path data, Path folder) throws Exception {
    var out = new ByteArrayOutputStream();
    int code = Main.run(new String[] {"ingest", "--data", data.toString(), folder.toString()}, Map.of("HOME", "/nonexistent"),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(out, true, StandardCharsets.UTF_8));
    assertEquals(0, code, out.toString(StandardCharsets.UTF_8));
  }

  /** A {@code size}-pixel square PNG of {@code colour} with a white disc, so no two colours look alike. */
  static byte[] png(Color colour, int size) throws IOException {
    BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setColor(colour);
    g.fillRect(0, 0, size, size);
    g.setColor(Color.WHITE);
    g.fillOval(size / 4, size / 4, size / 3, size / 3);
    g.dispose();
    var out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }
}
