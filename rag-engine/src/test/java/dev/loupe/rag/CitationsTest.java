package dev.loupe.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class CitationsTest {

  private static Source source(int n, String id) {
    return new Source(n, id, "text", "/docs/" + id + ".txt", 0, 0, null, id + ".txt", "words", 3, 1f);
  }

  @Test
  void maps_each_cited_number_to_its_source_in_order_of_first_citation_and_reports_unknown_ones() {
    List<Source> sources = List.of(source(1, "a#0"), source(2, "b#0"), source(3, "c#0"));
    Citations.Cited cited = Citations.of("Revenue rose [3]. Costs fell [1][3], see [2, 7] and [12].", sources);
    assertEquals(List.of("c#0", "a#0", "b#0"), cited.sources().stream().map(Source::id).toList());
    assertEquals(List.of(7, 12), cited.unknown());
  }

  @Test
  void an_answer_without_brackets_cites_nothing() {
    Citations.Cited cited = Citations.of("I do not know.", List.of(source(1, "a#0")));
    assertEquals(List.of(), cited.sources());
    assertEquals(List.of(), cited.unknown());
  }
}
