// Numbers and durations as people read them.

const integer = new Intl.NumberFormat('en');

export function count(n) {
  return integer.format(n);
}

export function rate(perSecond) {
  if (!perSecond) return null;
  return perSecond >= 10 ? `${Math.round(perSecond)}/s` : `${perSecond.toFixed(1)}/s`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return null;
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

/** The last part of a path, for a caption; the full path goes in a title. */
export function fileName(path) {
  const parts = String(path).split(/[\\/]/);
  return parts[parts.length - 1] || String(path);
}

/** Replaces an element's children with the given nodes or strings. */
export function fill(element, ...children) {
  element.replaceChildren(...children);
}

/** A new element with a class and text. */
export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}
