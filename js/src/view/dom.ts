/** Small DOM helpers shared by the view's parts. Text always goes through textContent. */

export function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Set a numeric indicator: bare number as text and in `data-value`. */
export function setNumber(node: HTMLElement, value: number): void {
  const text = String(value);
  if (node.textContent !== text) node.textContent = text;
  node.setAttribute("data-value", text);
}

/** Have the browser download `url` as `filename` (the anchor must be in the page for some browsers to follow the click). */
export function download(doc: Document, parent: HTMLElement, url: string, filename: string): void {
  const a = doc.createElement("a");
  a.href = url;
  a.download = filename;
  parent.append(a);
  a.click();
  a.remove();
}
