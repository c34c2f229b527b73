package dev.loupe.http;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium driven by Debian's ChromeDriver, for the browser tests. Both binaries
 * are named explicitly (and the build keeps Selenium Manager offline), so nothing is downloaded.
 * One instance is one browser process; not thread-safe.
 */
final class Chromium implements AutoCloseable {
  static final Path BROWSER = Path.of(System.getProperty("loupe.chromium", "/usr/bin/chromium"));
  static final Path DRIVER = Path.of(System.getProperty("loupe.chromedriver", "/usr/bin/chromedriver"));

  /** Why the browser tests are skipped here, or null when they can run. */
  static String missing() {
    if (Files.isExecutable(BROWSER) && Files.isExecutable(DRIVER)) {
      return null;
    }
    return "browser tests skipped: " + (Files.isExecutable(BROWSER) ? "" : BROWSER + " ")
        + (Files.isExecutable(DRIVER) ? "" : DRIVER + " ") + "missing; ./loupe test installs them, "
        + "or run: sudo apt-get install chromium chromium-driver";
  }

  /** Where screenshots go: the module's {@code target/screenshots}, for a person to look at. */
  static final Path SCREENSHOTS = Path.of(System.getProperty("basedir", ".")).resolve("target/screenshots");

  /**
   * How long a wait may last before the test gives up. It only bounds a hang; no test asserts
   * how fast anything happens.
   */
  private static final Duration HANG = Duration.ofMinutes(2);

  /**
   * Selenium looks for DevTools bindings of Chromium's version and warns when there are none;
   * the tests use WebDriver only, so the warning is noise. Held here so the setting sticks.
   */
  private static final java.util.logging.Logger CDP_FINDER = quiet("org.openqa.selenium.devtools.CdpVersionFinder");

  private static java.util.logging.Logger quiet(String name) {
    java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
    logger.setLevel(Level.SEVERE);
    return logger;
  }

  final ChromeDriver driver;

  Chromium() {
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile())
        .usingAnyFreePort().build();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(BROWSER.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", "--window-size=1280,900", "--lang=en-US");
    options.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, Level.ALL.getName()));
    driver = new ChromeDriver(service, options);
  }

  /** A wait bounded only against hangs. */
  WebDriverWait waiting() {
    return new WebDriverWait(driver, HANG);
  }

  /** Opens {@code url} and waits until the page has shown its first health and ingest answers. */
  void open(java.net.URI url) {
    driver.get(url.toString());
    waiting().until(d -> "true".equals(script("return document.documentElement.dataset.ready")));
  }

  void resize(int width, int height) {
    driver.manage().window().setSize(new Dimension(width, height));
  }

  Object script(String js, Object... args) {
    return driver.executeScript(js, args);
  }

  /** The console's errors since the last call, as {@code SEVERE message}. */
  List<String> consoleErrors() {
    return driver.manage().logs().get(LogType.BROWSER).getAll().stream()
        .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
        .map(Chromium::describe).toList();
  }

  private static String describe(LogEntry e) {
    return e.getLevel() + " " + e.getMessage();
  }

  /** Saves the viewport as {@code target/screenshots/NAME.png}. */
  Path screenshot(String name) throws IOException {
    Files.createDirectories(SCREENSHOTS);
    return Files.write(SCREENSHOTS.resolve(name + ".png"), driver.getScreenshotAs(OutputType.BYTES));
  }

  @Override
  public void close() {
    driver.quit();
  }
}
