package dev.loupe.http;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * What every browser test shares: one headless Chromium per class, and before each test a real
 * server as {@code loupe serve} builds it ({@link Main#start}) on a temporary data folder and a
 * random loopback port, with the settings {@link #settings()} gives. Each test is skipped, with
 * the command that installs them, where Chromium or ChromeDriver is missing.
 */
abstract class BrowserTest {
  static Chromium chromium;

  @TempDir Path data;
  LoupeServer server;

  @BeforeAll
  static void startChromium() {
    if (Chromium.missing() == null) {
      chromium = new Chromium();
    }
  }

  @AfterAll
  static void stopChromium() {
    if (chromium != null) {
      chromium.close();
      chromium = null;
    }
  }

  /** {@code loupe.properties} for the test's data folder; by default a short settle time, so dropped files are taken soon. */
  String settings() {
    return "ingest.settle-time=200ms\n";
  }

  /** Runs before the server starts: install models, write files to ingest. */
  void prepare() throws Exception {}

  @BeforeEach
  void startServer() throws Exception {
    // Here rather than in startChromium, so that each test is reported skipped with the reason.
    String missing = Chromium.missing();
    assumeTrue(missing == null, missing);
    Files.createDirectories(data);
    Files.writeString(data.resolve("loupe.properties"), settings());
    prepare();
    server = Main.start(new ServerConfig("127.0.0.1", 0, data, data.resolve("inbox")));
    chromium.resize(1280, 900);
    chromium.consoleErrors(); // drops what earlier tests left in the log
  }

  @AfterEach
  void stopServer() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  WebElement byId(String id) {
    return chromium.driver.findElement(By.id(id));
  }
}
