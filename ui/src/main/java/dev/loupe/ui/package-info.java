/**
 * The browser UI: static HTML, CSS and JavaScript modules under
 * {@code dev/loupe/ui/static}, served by the {@code http} module. No build step.
 */
package dev.loupe.ui;
