package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.llm.bench.RandomModels;
import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelOptions;
import dev.loupe.rag.Retrieval;
import dev.loupe.rag.RetrievalOptions;
import dev.loupe.rag.Retriever;
import dev.loupe.rag.SearchRetriever;
import dev.loupe.rag.chat.ChatEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;

/**
 * The chat panel in Debian's headless Chromium, against a real server over a data folder where
 * {@code loupe ingest} indexed a generated two-page PDF and a note (keyword search, no embedding
 * model), answering with a seeded random-weight llama: the answer streams in, the sources come as
 * chips and a chip opens its PDF at the right page, a forced tool call is shown, Stop aborts the
 * stream and the server stops decoding, New chat drops the chat on the server, and a server
 * without a model says how to load one. A second server answers with the crafted {@link
 * CitingModel}, whose answer cites source 1 again and again, so that each [n] becomes an inline
 * chip that opens the cited page. Screenshots go to {@code target/screenshots}. Skipped with
 * a message where Chromium or ChromeDriver is missing.
 */
class ChatUiTest {
  private static final long SEED = 4242L;

  @TempDir static Path tmp;
  private static Chromium chromium;
  private static Model model;
  private static ChatEngine engine;
  private static LoupeServer server;
  private static String skip;
  /** While set, the next mid-answer search waits here (after counting down {@link #searching}). */
  private static final AtomicReference<CountDownLatch> gate = new AtomicReference<>();
  private static final CountDownLatch searching = new CountDownLatch(1);

  @BeforeAll
  static void ingestAndServe() throws Exception {
    skip = Chromium.missing();
    if (skip != null) {
      return;
    }
    Path data = tmp.resolve("data");
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    Files.write(inbox.resolve("guide.pdf"), SearchUiTest.pdf("A first page about bread and butter.",
        "The second page tells of the lighthouse keeper and the storm."));
    Files.writeString(inbox.resolve("notes.txt"), "Notes on apples and pears in an orchard.");
    Fixtures.ingest(data, inbox);

    Path file = tmp.resolve("random-tiny.gguf");
    RandomModels.write(RandomModels.preset("tiny", GgmlType.F32, SEED), file);
    model = Model.load(file, ModelOptions.threads(1));
    // As loupe serve --llm builds it (Main.openChat), with a retriever whose mid-answer searches a test can hold.
    Pipeline pipeline = Pipeline.open(data, StoreConfig.LUCENE, System.err, false);
    Retriever search = new SearchRetriever(pipeline.searcher(), t -> model.tokenizer().encode(t, false, false).length);
    int toolSources = ChatEngine.Settings.defaults(1024).toolSources(); // a question's retrieval asks for more
    Retriever held = new Retriever() {
      @Override
      public Retrieval retrieve(String query, RetrievalOptions options) {
        CountDownLatch wait = gate.get();
        if (wait != null && options.maxSources() == toolSources) {
          searching.countDown();
          try {
            wait.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return search.retrieve(query, options);
      }
    };
    engine = new ChatEngine(model, held, ChatEngine.Settings.defaults(1024), Clock.systemUTC());
    server = LoupeServer.start(new ServerConfig("127.0.0.1", 0, data, tmp.resolve("watch")),
        Main.openDefaultStore(data), pipeline, engine);
    chromium = new Chromium();
  }

  @AfterAll
  static void stop() throws Exception {
    CountDownLatch wait = gate.getAndSet(null);
    if (wait != null) wait.countDown();
    if (chromium != null) chromium.close();
    if (server != null) server.close();
    if (model != null) model.close();
  }

  @BeforeEach
  void openPage() {
    assumeTrue(skip == null, skip);
    chromium.resize(1280, 900);
    chromium.open(server.url());
    chromium.consoleErrors();
  }

  private static WebElement byId(String id) {
    return chromium.driver.findElement(By.id(id));
  }

  private static List<WebElement> turns() {
    return chromium.driver.findElements(By.cssSelector("#chat-log .turn"));
  }

  private static WebElement ask(String question) {
    int before = turns().size();
    byId("chat-q").sendKeys(question, Keys.ENTER);
    chromium.waiting().until(d -> turns().size() == before + 1);
    return turns().getLast();
  }

  private static void awaitState(WebElement turn, String state) {
    chromium.waiting().until(d -> state.equals(turn.getDomAttribute("data-state")));
  }

  @Test
  void an_answer_streams_in_with_its_sources_as_chips_and_a_chip_opens_the_pdf_at_its_page() throws Exception {
    WebElement turn = ask("What did the lighthouse keeper do in the storm?");

    awaitState(turn, "done");
    assertTrue(Integer.parseInt(turn.getDomAttribute("data-tokens")) > 1, "tokens arrive one event at a time");
    assertFalse(turn.findElement(By.className("answer")).getText().isBlank());
    assertTrue(turn.findElement(By.className("turn-status")).getText().startsWith("Done")
        || turn.findElement(By.className("turn-status")).getText().startsWith("Cut at the length limit"),
        turn.findElement(By.className("turn-status")).getText());
    List<WebElement> chips = turn.findElements(By.cssSelector(".chat-sources .source-chip"));
    assertFalse(chips.isEmpty(), "the sources event is drawn as chips");
    WebElement first = chips.getFirst();
    assertEquals("1", first.getDomAttribute("data-n"));
    assertEquals("[1] guide.pdf, page 2", first.getText());
    assertFalse(byId("chat-stop").isDisplayed(), "Stop shows only while an answer streams");
    chromium.screenshot("chat-answer");

    first.click();

    assertTheGuideOpensAtPage2(first, "chat-source");
    assertEquals(List.of(), chromium.consoleErrors());
  }

  /**
   * After a click on {@code chip}: the detail view shows guide.pdf at page 2 (screenshot {@code
   * name}), and once closed gives focus back to the chip.
   */
  private static void assertTheGuideOpensAtPage2(WebElement chip, String name) throws IOException {
    chromium.waiting().until(d -> byId("detail").getDomAttribute("open") != null);
    WebElement frame = byId("detail-media").findElement(By.cssSelector("iframe.pdf"));
    assertTrue(frame.getDomProperty("src").endsWith("/content#page=2"), frame.getDomProperty("src"));
    assertEquals("Page 2 of guide.pdf", frame.getDomAttribute("title"));
    assertTrue(byId("detail-media").getText().contains("lighthouse keeper"), byId("detail-media").getText());
    assertFalse(byId("detail-similar").isDisplayed(), "a source has no result list for More like this");
    chromium.screenshot(name);
    byId("detail-close").click();
    chromium.waiting().until(d -> byId("detail").getDomAttribute("open") == null);
    assertEquals(chip, chromium.driver.switchTo().activeElement(), "focus goes back to the chip");
  }

  @Test
  void each_citation_in_the_answer_becomes_a_chip_that_opens_the_cited_page() throws Exception {
    // A server of its own, answering with CitingModel: whatever the prompt, its answer is [1][1][1]…
    // by a logit margin of 32, so neither the panel's sampling (it sends no temperature: greedy)
    // nor a seed changes it. Its own data folder, as the pipeline holds the folder it opens.
    Path data = tmp.resolve("cited");
    Fixtures.ingest(data, tmp.resolve("inbox"));
    Path file = tmp.resolve("citing.gguf");
    CitingModel.write(file);
    try (Model citing = Model.load(file, ModelOptions.threads(1))) {
      Pipeline pipeline = Pipeline.open(data, StoreConfig.LUCENE, System.err, false);
      ChatEngine citingEngine = new ChatEngine(citing,
          new SearchRetriever(pipeline.searcher(), t -> citing.tokenizer().encode(t, false, false).length),
          ChatEngine.Settings.defaults(1024), Clock.systemUTC());
      try (LoupeServer cited = LoupeServer.start(new ServerConfig("127.0.0.1", 0, data, tmp.resolve("watch-cited")),
          Main.openDefaultStore(data), pipeline, citingEngine)) {
        chromium.open(cited.url());
        chromium.script("document.getElementById('chat-form').dataset.maxTokens = '9'");

        WebElement turn = ask("What did the lighthouse keeper do in the storm?");

        awaitState(turn, "done");
        assertEquals("9", turn.getDomAttribute("data-tokens"));
        assertTrue(turn.findElement(By.className("turn-status")).getText().startsWith("Cut at the length limit"),
            turn.findElement(By.className("turn-status")).getText());
        WebElement answer = turn.findElement(By.className("answer"));
        assertEquals("[1][1][1]", answer.getText());
        List<WebElement> citations = answer.findElements(By.cssSelector("button.citation"));
        assertEquals(List.of("[1]", "[1]", "[1]"), citations.stream().map(WebElement::getText).toList(),
            "each [1] of the answer is a chip");
        for (WebElement c : citations) {
          assertEquals("1", c.getDomAttribute("data-n"));
        }
        assertEquals("", chromium.script("return Array.from(arguments[0].childNodes)"
            + ".filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join('')", answer),
            "no [1] is left as plain text");
        chromium.screenshot("chat-citations");

        WebElement second = citations.get(1);
        second.click();

        assertTheGuideOpensAtPage2(second, "chat-citation-source");
        assertEquals(List.of(), chromium.consoleErrors());
      }
    }
  }

  @Test
  void a_tool_call_is_shown_with_its_argument_and_result() throws Exception {
    chromium.script("document.getElementById('chat-form').dataset.forceTool = 'calc'");

    WebElement turn = ask("How much is the lighthouse keeper's wage in a year?");

    awaitState(turn, "done");
    WebElement tool = turn.findElement(By.cssSelector(".chat-tools .tool"));
    assertEquals("calc", tool.getDomAttribute("data-tool"));
    assertTrue(tool.findElement(By.className("tool-result")).getText().startsWith("→ "), tool.getText());
    chromium.screenshot("chat-tool");
    assertEquals(List.of(), chromium.consoleErrors());
  }

  @Test
  void stop_aborts_the_stream_and_the_server_stops_decoding() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    gate.set(release);
    server.chatApi().lastDone.set(null);
    chromium.script("document.getElementById('chat-form').dataset.forceTool = 'search'");
    try {
      WebElement turn = ask("Tell me everything about the lighthouse keeper.");
      searching.await(); // the model called search mid-answer and the search is held
      assertTrue(byId("chat-stop").isDisplayed());
      chromium.waiting().until(d -> !turn.findElements(By.cssSelector(".chat-sources .source-chip")).isEmpty());

      byId("chat-stop").click();

      awaitState(turn, "stopped");
      assertEquals("Stopped.", turn.findElement(By.className("turn-status")).getText());
      assertFalse(byId("chat-stop").isDisplayed());
      assertTrue(byId("chat-send").isEnabled());
      chromium.screenshot("chat-stopped");
    } finally {
      gate.set(null);
      release.countDown();
    }
    // The search returns into a turn whose client has gone: its next writes fail and decoding stops.
    while (server.chatApi().lastDone.get() == null) {
      Thread.sleep(20);
    }
    assertEquals("cancelled", server.chatApi().lastDone.get().finishReason(), "seed " + SEED);
  }

  @Test
  void new_chat_empties_the_panel_and_drops_the_chat_on_the_server() throws Exception {
    // Short answers, so that the follow-up fits the 1,024 positions of the chat's context.
    chromium.script("document.getElementById('chat-form').dataset.maxTokens = '16'");
    WebElement turn = ask("Which fruit grows in the orchard?");
    awaitState(turn, "done");
    WebElement follow = ask("And which is sweeter?");
    awaitState(follow, "done");
    String chatId = (String) chromium.script("return document.getElementById('chat-form').dataset.chatId");
    assertFalse(chatId == null || chatId.isBlank());
    int chats = engine.sessionStats().conversations();

    byId("chat-new").click();

    chromium.waiting().until(d -> turns().isEmpty());
    chromium.waiting().until(d -> engine.sessionStats().conversations() == chats - 1);
    assertFalse(engine.drop(chatId), "the server forgot the chat");
    assertEquals("", chromium.script("return document.getElementById('chat-form').dataset.chatId || ''"));
    assertEquals(List.of(), chromium.consoleErrors());
  }

  @Test
  void without_a_language_model_the_panel_says_how_to_load_one() throws Exception {
    Path data = Files.createDirectories(tmp.resolve("no-llm"));
    try (LoupeServer bare = Main.start(new ServerConfig("127.0.0.1", 0, data, data.resolve("inbox")))) {
      chromium.open(bare.url());

      byId("chat-q").sendKeys("Anyone there?", Keys.ENTER);

      chromium.waiting().until(d -> byId("chat-fix").isDisplayed());
      assertEquals(List.of("./loupe serve --llm MODEL.gguf", "./loupe models pull qwen2.5-0.5b-instruct",
          "./loupe serve --llm qwen2.5-0.5b-instruct"), List.of(byId("chat-fix-command").getText().split("\n")));
      WebElement message = byId("chat-message");
      assertTrue(message.getDomAttribute("class").contains("error"), message.getDomAttribute("class"));
      assertTrue(message.getText().startsWith("No language model is loaded"), message.getText());
      assertTrue(turns().isEmpty());
      chromium.screenshot("chat-no-model");
    }
  }
}
