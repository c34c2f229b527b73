package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * The upload area in Debian's headless Chromium against the real server ({@link Main#start}, no
 * models, a random loopback port, uploads limited to {@value #LIMIT} bytes a file by {@code
 * loupe.properties}): a picked file uploads with its progress and gets indexed, an oversized one
 * shows the server's 413 message. Screenshots go to {@code target/screenshots/upload-*.png}.
 */
class UploadUiTest extends BrowserTest {
  private static final int LIMIT = 4096;

  @Override
  String settings() {
    return "ingest.settle-time=200ms\ningest.max-file-size=" + LIMIT + "\n";
  }

  @TempDir Path picked;

  private WebElement row(String name) {
    return chromium.driver.findElement(By.cssSelector("#upload-list .upload-item[data-name='" + name + "']"));
  }

  private List<String> inbox() throws IOException {
    try (Stream<Path> files = Files.list(data.resolve("inbox"))) {
      return files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).toList();
    }
  }

  @Test
  void a_picked_file_uploads_with_its_progress_and_is_counted_indexed_in_the_status_bar() throws Exception {
    Path note = Files.writeString(picked.resolve("harbour notes.txt"), "Boats wait in the harbour while the storm passes.");
    chromium.open(server.url());
    assertTrue(byId("upload-pick").isDisplayed());
    assertEquals("Choose files…", byId("upload-pick").getText());

    byId("upload-input").sendKeys(note.toString());

    chromium.waiting().until(d -> "queued".equals(row("harbour notes.txt").getDomAttribute("data-state")));
    WebElement row = row("harbour notes.txt");
    assertEquals("Queued for indexing", row.findElement(By.className("upload-status")).getText());
    assertEquals("1", row.findElement(By.tagName("progress")).getDomProperty("value"));
    chromium.waiting().until(d -> byId("ingest-summary").getText().startsWith("1 of 1 files indexed"));
    assertEquals(List.of("harbour notes.txt"), inbox());
    assertEquals(List.of(), chromium.consoleErrors());
    chromium.screenshot("upload-done");
  }

  @Test
  void a_file_over_the_limit_shows_the_servers_413_message_and_is_not_kept() throws Exception {
    Path big = Files.writeString(picked.resolve("big.txt"), "x".repeat(LIMIT * 4));
    chromium.open(server.url());

    byId("upload-input").sendKeys(big.toString());

    chromium.waiting().until(d -> "error".equals(row("big.txt").getDomAttribute("data-state")));
    String status = row("big.txt").findElement(By.className("upload-status")).getText();
    assertTrue(status.startsWith("Failed: 'big.txt' is over the limit of " + LIMIT + " bytes"), status);
    assertEquals(List.of(), inbox());
    chromium.screenshot("upload-too-large");
  }
}
