package dev.loupe.http;

import dev.loupe.rag.RetrievalOptions;
import dev.loupe.rag.Source;
import dev.loupe.rag.chat.ChatEngine;
import dev.loupe.rag.chat.ChatEvent;
import dev.loupe.rag.chat.ChatRequest;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code loupe ask QUESTION}: opens the data folder's indexes and models as {@code serve} does,
 * loads the language model, answers one question with streamed text on stdout, then lists the
 * sources the answer cites (and, on stderr, what retrieval and generation took).
 */
final class AskCommand {
  private AskCommand() {}

  static int ask(Path dataDir, Path llm, String question, boolean retrieval, int maxTokens, PrintStream out,
      PrintStream err) throws IOException, InterruptedException {
    if (question.length() > ChatRequest.MAX_QUESTION) {
      err.println("loupe ask: the question of " + question.length() + " characters is longer than " + ChatRequest.MAX_QUESTION);
      return 2;
    }
    try (Pipeline pipeline = Pipeline.open(dataDir, err)) {
      ChatEngine engine;
      try {
        engine = Main.openChat(LlmModels.resolve(dataDir, llm), pipeline.searcher());
      } catch (IllegalArgumentException e) {
        err.println("loupe ask: " + e.getMessage());
        return 2;
      }
      try {
        ChatRequest request = ChatRequest.of(question, RetrievalOptions.defaults(ChatApi.DEFAULT_SOURCE_TOKENS), maxTokens)
            .withRetrieve(retrieval).withHistory(List.of(), false);
        ChatEngine.Turn turn = engine.ask(request, event -> {
          switch (event) {
            case ChatEvent.Sources s -> s.notes().forEach(n -> err.println("(" + n + ")"));
            case ChatEvent.Token t -> {
              out.print(t.text());
              out.flush();
            }
            case ChatEvent.Tool t -> err.println("\n(" + t.tool() + " " + t.argument() + ")");
            case ChatEvent.Done d -> out.println();
          }
        }, () -> false);
        List<Source> cited = turn.done().citations();
        if (!cited.isEmpty()) {
          out.println();
          out.println("Sources:");
          for (Source s : cited) {
            out.println("  [" + s.n() + "] " + s.title() + " — " + s.path());
          }
        } else if (turn.sources().isEmpty() && retrieval) {
          err.println("(no sources were found for this question)");
        }
        ChatEvent.Timings t = turn.done().timings();
        err.println(String.format(Locale.ROOT, "(retrieval %.1f ms, prefill %d tokens in %.1f ms, %d tokens at %.1f tokens/s)",
            t.retrievalMillis(), t.prefillTokens(), t.prefillMillis(), t.decodeTokens(), t.tokensPerSecond()));
        return 0;
      } finally {
        try (dev.loupe.llm.model.Model model = engine.model()) {
          engine.close();
        }
      }
    }
  }
}
