/**
 * The browser UI: static HTML, CSS and JavaScript modules under {@code dev/loupe/ui/web} on the
 * class path ({@link dev.loupe.ui.WebAssets#CLASSPATH_DIRECTORY}), served at {@code /} by the
 * {@code http} module. No build step, no external fonts, scripts or network calls.
 */
package dev.loupe.ui;
