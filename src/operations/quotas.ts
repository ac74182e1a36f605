import type { Page } from '../store/types.js';

/**
 * A page cut to `maxBytes` of JSON (JOBS_PAGE_MAX_BYTES): the items up to that size, at least
 * one, and the cursor after the last one shown, so a list of large rows pages on instead of
 * answering megabytes. `body` is how an item is answered.
 */
export function pageWithin<T, B>(page: Page<T>, body: (item: T) => B, maxBytes: number): { items: B[]; next: string | null } {
  const items: B[] = [];
  let bytes = 0;
  for (const [i, item] of page.items.entries()) {
    const b = body(item);
    bytes += Buffer.byteLength(JSON.stringify(b) ?? '') + 1;
    if (bytes > maxBytes && i > 0 && page.cursorAfter) return { items, next: page.cursorAfter(i - 1) };
    items.push(b);
  }
  return { items, next: page.next };
}

/**
 * pageWithin for an answer sent as JSON text: each item is serialised once, measured, and
 * sent as it is (a list of thousands of rows would otherwise be serialised twice).
 */
export function pageJsonWithin<T>(page: Page<T>, json: (item: T) => string, maxBytes: number): { items: string[]; next: string | null } {
  const items: string[] = [];
  let bytes = 0;
  for (let i = 0; i < page.items.length; i++) {
    const text = json(page.items[i]);
    bytes += Buffer.byteLength(text) + 1;
    if (bytes > maxBytes && i > 0 && page.cursorAfter) return { items, next: page.cursorAfter(i - 1) };
    items.push(text);
  }
  return { items, next: page.next };
}
