package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;

/**
 * The browser UI in Debian's headless Chromium against the real server as {@code loupe serve}
 * builds it ({@link Main#start}, a temporary data folder, no models, a random loopback port).
 * Screenshots of each state go to {@code target/screenshots}. Skipped, with the command that
 * installs them, where Chromium or ChromeDriver is missing.
 */
class BrowserUiTest extends BrowserTest {
  private static final ObjectMapper JSON = new ObjectMapper();


  private JsonNode api(String method, String path) throws IOException, InterruptedException {
    try (HttpClient client = HttpClient.newHttpClient()) {
      HttpResponse<String> response = client.send(
          HttpRequest.newBuilder(server.url().resolve(path)).method(method, HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      return JSON.readTree(response.body());
    }
  }

  @Test
  void the_page_loads_from_the_server_without_console_errors() throws Exception {
    chromium.open(server.url());

    assertEquals("Loupe", chromium.driver.getTitle());
    assertTrue(byId("q").isDisplayed());
    assertEquals(List.of(), chromium.consoleErrors());
  }

  @Test
  void the_first_run_state_says_how_to_install_the_model_and_where_to_put_files() throws Exception {
    chromium.open(server.url());

    WebElement model = byId("model-missing");
    assertTrue(model.isDisplayed());
    assertEquals("./loupe models pull clip-vit-b32", byId("model-fix").getText());
    assertTrue(byId("model-message").getText().contains("Document search works meanwhile"), byId("model-message").getText());
    WebElement empty = byId("empty-index");
    assertTrue(empty.isDisplayed());
    assertTrue(empty.getText().contains(data.resolve("inbox").toString()), empty.getText());
    assertTrue(byId("ingest-summary").getText().contains("No files seen yet"), byId("ingest-summary").getText());
    chromium.screenshot("first-run");
  }

  @Test
  void a_text_file_dropped_into_the_watch_folder_is_counted_done_in_the_status_bar() throws Exception {
    chromium.open(server.url());

    Files.writeString(data.resolve("inbox/lighthouse.txt"), "A note about lighthouses and tides, dropped while the page is open.");

    chromium.waiting().until(d -> byId("ingest-summary").getText().startsWith("1 of 1 files indexed"));
    chromium.waiting().until(d -> byId("ingest-state").getText().equals("Up to date"));
    assertFalse(byId("empty-index").isDisplayed(), "the empty-collection notice goes once a file is seen");
    assertFalse(byId("ingest-failures").isDisplayed());
    assertEquals(1, api("GET", "/api/ingest/status").get("done").asInt());
    chromium.screenshot("ingested");
  }

  @Test
  void a_file_that_fails_is_counted_with_its_reason() throws Exception {
    chromium.open(server.url());

    Files.writeString(data.resolve("inbox/note.txt"), "A note that indexes.");
    Files.writeString(data.resolve("inbox/broken.pdf"), "%PDF-1.7\nnot really a pdf");

    chromium.waiting().until(d -> byId("ingest-summary").getText().equals("1 of 2 files indexed · 1 failed"));
    WebElement failures = byId("ingest-failures");
    assertTrue(failures.isDisplayed());
    List<WebElement> reasons = failures.findElements(By.tagName("li"));
    assertEquals(1, reasons.size(), failures.getText());
    JsonNode byReason = api("GET", "/api/ingest/status").get("failedByReason");
    String reason = byReason.fieldNames().next();
    assertEquals(reason, reasons.getFirst().getDomAttribute("data-reason"));
    assertTrue(reasons.getFirst().getText().startsWith("1 "), reasons.getFirst().getText());
    chromium.screenshot("failure");
  }

  @Test
  void pause_and_resume_change_the_state_in_the_page_and_on_the_server() throws Exception {
    chromium.open(server.url());
    WebElement toggle = byId("ingest-toggle");
    assertEquals("Pause indexing", toggle.getText());

    toggle.click();

    chromium.waiting().until(d -> "paused".equals(byId("ingest").getDomAttribute("data-state")));
    assertEquals("Paused", byId("ingest-state").getText());
    assertEquals("Resume indexing", toggle.getText());
    assertEquals("paused", api("GET", "/api/ingest/status").get("state").asText());
    chromium.screenshot("paused");

    toggle.sendKeys(Keys.ENTER); // a real button: the keyboard works as the mouse does

    chromium.waiting().until(d -> "running".equals(byId("ingest").getDomAttribute("data-state")));
    assertEquals("Pause indexing", toggle.getText());
    assertEquals("running", api("GET", "/api/ingest/status").get("state").asText());
    assertEquals(List.of(), chromium.consoleErrors());
  }

  @Test
  void a_phone_sized_window_shows_everything_without_horizontal_scrolling() throws Exception {
    chromium.resize(390, 844);
    chromium.open(server.url());

    long viewport = (Long) chromium.script("return document.documentElement.clientWidth");
    long content = (Long) chromium.script("return document.documentElement.scrollWidth");
    assertTrue(viewport <= 400, "the window is phone-sized: " + viewport + " px wide");
    assertTrue(content <= viewport, "the page is " + content + " px wide in a " + viewport + " px window");
    assertTrue(byId("model-fix").isDisplayed() && byId("ingest-toggle").isDisplayed() && byId("q").isDisplayed());
    chromium.screenshot("phone");
  }

  @Test
  void a_search_draws_the_servers_hits_as_cards_with_the_passage_and_its_terms_marked() throws Exception {
    Files.writeString(data.resolve("inbox").resolve("keeper.txt"), "The lighthouse keeper logs every storm that passes the cape.");
    Files.writeString(data.resolve("inbox").resolve("bread.txt"), "A recipe for sourdough bread with a long cold proof.");
    chromium.open(server.url());
    chromium.waiting().until(d -> {
      try {
        return api("GET", "/api/ingest/status").get("done").asInt() == 2;
      } catch (IOException | InterruptedException e) {
        return false;
      }
    });
    JsonNode direct = api("GET", "/api/search?q=lighthouse");
    assertEquals(1, direct.get("hits").size(), direct.toString());

    byId("q").sendKeys("lighthouse", Keys.ENTER);

    chromium.waiting().until(d -> byId("search-message").getText().startsWith("1 result for"));
    List<WebElement> cards = chromium.driver.findElements(By.cssSelector("#results .hit"));
    assertEquals(1, cards.size());
    WebElement card = cards.getFirst();
    assertEquals(direct.get("hits").get(0).get("id").asText(), card.getDomAttribute("data-id"));
    assertEquals("keeper.txt", card.findElement(By.className("name")).getText());
    assertEquals("Text", card.findElement(By.className("badge")).getText());
    assertTrue(card.findElement(By.className("snippet")).getText().contains("lighthouse keeper"));
    assertEquals("lighthouse", card.findElement(By.tagName("mark")).getText());
    assertEquals(List.of(), chromium.consoleErrors());
    chromium.screenshot("search");

    // A query the server refuses shows its message as an error, and no stale cards.
    byId("q").clear();
    byId("q").sendKeys("x".repeat(2_001), Keys.ENTER); // over the 2,000-character limit: a 400
    chromium.waiting().until(d -> byId("search-message").getDomAttribute("class") != null
        && byId("search-message").getDomAttribute("class").contains("error"));
    assertTrue(byId("search-message").getText().startsWith("Search failed: "), byId("search-message").getText());
    assertEquals(0, chromium.driver.findElements(By.cssSelector("#results .hit")).size());
  }
}
