package dev.loupe.indexer.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class SkipRulesTest {

  @Test
  void the_defaults_skip_hidden_names_and_temporary_editor_and_download_files() {
    SkipRules rules = SkipRules.defaults();
    for (String name : List.of(".hidden", ".git", "~$Report.docx", "x.tmp", "X.TMP", "a.swp", "a.swx", "notes.txt~", ".#notes.txt",
        "movie.mp4.part", "setup.exe.crdownload", ".DS_Store", "Thumbs.db", "THUMBS.DB", "desktop.ini", "Desktop.ini")) {
      assertTrue(rules.skips(name), name + " should be skipped");
    }
    for (String name : List.of("report.pdf", "photo.JPG", "tmp", "part.txt", "a~b.txt", "swp.md", "thumbs.db.pdf", "my.desktop.ini.txt")) {
      assertFalse(rules.skips(name), name + " should be kept");
    }
    assertEquals(SkipRules.DEFAULT_PATTERNS, List.copyOf(rules.patterns()));
  }

  @Test
  void patterns_can_be_added_and_removed_and_hidden_names_kept() {
    SkipRules rules = SkipRules.defaults().withoutPatterns("*.tmp").withPatterns("*.log", "draft-??.*").withSkipHidden(false);

    assertFalse(rules.skips("x.tmp"));
    assertTrue(rules.skips("server.LOG"));
    assertTrue(rules.skips("draft-07.docx"));
    assertFalse(rules.skips("draft-7.docx"));
    assertFalse(rules.skips(".profile"));
    assertTrue(rules.skips(".#lock"), "still skipped by its own pattern");
  }

  @Test
  void glob_characters_other_than_star_and_question_mark_are_literal() {
    SkipRules rules = SkipRules.of(false, List.of("[a].(b)+*", "a.c"));

    assertTrue(rules.skips("[a].(b)+xyz"));
    assertFalse(rules.skips("a.(b)+xyz"));
    assertFalse(rules.skips("abc"), "the dot is not a regex wildcard");
  }

  @Test
  void blank_patterns_and_patterns_with_a_separator_are_rejected_by_name() {
    IllegalArgumentException blank = assertThrows(IllegalArgumentException.class, () -> SkipRules.of(true, List.of(" ")));
    IllegalArgumentException path = assertThrows(IllegalArgumentException.class, () -> SkipRules.of(true, List.of("build/*.o")));

    assertTrue(blank.getMessage().contains("' '"), blank.getMessage());
    assertTrue(path.getMessage().contains("build/*.o"), path.getMessage());
  }
}
