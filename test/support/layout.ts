import type { Locator } from "playwright-core";

/**
 * tsx compiles the measuring functions with esbuild's keepNames, which wraps each inner function in a call to its
 * `__name` helper; the page needs that helper too (it only names a function, so the identity does).
 */
async function namesInPage(root: Locator): Promise<void> {
  await root.page().evaluate("window.__name = window.__name || ((f) => f)");
}

/** A text the layout cuts or hides, as a person sees it: where it is and what it says. */
export interface Cut {
  what: string;
  text: string;
  /** The width the text needs and the width it has, in CSS pixels. */
  needs: number;
  has: number;
}

/**
 * Every visible label, tab, button and choice inside `root` whose text does not fit where it is drawn: cut by an
 * ellipsis or overflow, running over its box, or a select whose widest choice is wider than the select. Measured
 * in the page, from the text's own width in its own font, so it holds in every language and at any zoom.
 */
export async function cutTexts(root: Locator): Promise<Cut[]> {
  await namesInPage(root);
  return root.evaluate((top) => {
    const canvas = document.createElement("canvas").getContext("2d");
    if (!canvas) throw new Error("no canvas to measure text with");
    const widthOf = (text: string, el: Element) => {
      const style = getComputedStyle(el);
      canvas.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      return canvas.measureText(text).width;
    };
    const visible = (el: Element) => {
      const html = el as HTMLElement;
      return html.getClientRects().length > 0 && getComputedStyle(html).visibility !== "hidden";
    };
    const name = (el: Element) => {
      const html = el as HTMLElement;
      return `${el.tagName.toLowerCase()}${html.id ? `#${html.id}` : ""}${
        typeof html.className === "string" && html.className ? `.${html.className.trim().split(/\s+/).join(".")}` : ""
      }`;
    };
    const cuts: Array<{ what: string; text: string; needs: number; has: number }> = [];
    const texts = top.querySelectorAll<HTMLElement>("label, button, a, .red-ui-tab-label, span, th, td");
    for (const el of Array.from(texts)) {
      if (!visible(el)) continue;
      const text = (el.textContent ?? "").replace(/\s+/g, " ").trim();
      if (text === "") continue;
      const style = getComputedStyle(el);
      // Text that runs past the end of its box, hidden or not, is cut for the eye: either missing or over its neighbour.
      if (el.scrollWidth > el.clientWidth + 1 && style.display !== "inline") {
        cuts.push({ what: name(el), text, needs: el.scrollWidth, has: el.clientWidth });
        continue;
      }
      // Text that runs past an ancestor that clips it (a tab of fixed width): cut though its own box is whole.
      const range = document.createRange();
      range.selectNodeContents(el);
      const extent = range.getBoundingClientRect();
      let clipped = false;
      for (let up = el.parentElement; up && !clipped; up = up === top ? null : up.parentElement) {
        const clip = getComputedStyle(up);
        if (clip.overflowX === "visible") continue;
        // It clips at its padding box, inside its borders.
        const box = up.getBoundingClientRect();
        const right = box.right - parseFloat(clip.borderRightWidth);
        const left = box.left + parseFloat(clip.borderLeftWidth);
        if (extent.right > right + 0.5 || extent.left < left - 0.5) {
          cuts.push({ what: name(el), text, needs: Math.ceil(extent.width), has: Math.floor(right - extent.left) });
          clipped = true;
        }
      }
      if (clipped) continue;
      // A single-line label with an ellipsis that the browser drew (scrollWidth can round to the box width).
      if (style.textOverflow === "ellipsis" && style.whiteSpace === "nowrap" && el.children.length === 0) {
        const needs = widthOf(text, el);
        const has = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        if (needs > has + 1) cuts.push({ what: name(el), text, needs: Math.ceil(needs), has });
      }
    }
    for (const select of Array.from(top.querySelectorAll<HTMLSelectElement>("select"))) {
      if (!visible(select)) continue;
      const style = getComputedStyle(select);
      // The room for a choice's text: the box without its padding and the drop-down arrow (about a line's height).
      const has = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16;
      for (const option of Array.from(select.options)) {
        const text = option.text.trim();
        const needs = widthOf(text, select);
        if (needs > has + 1) cuts.push({ what: name(select), text, needs: Math.ceil(needs), has: Math.floor(has) });
      }
    }
    return cuts;
  });
}

/** A box on the screen. */
interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/**
 * The pairs of visible fields and their captions inside `root` that are drawn over each other (more than a pixel),
 * named by their text or class; and every field that sticks out of `root`'s visible width.
 */
export async function overlaps(root: Locator, selector: string): Promise<string[]> {
  await namesInPage(root);
  return root.evaluate((top, fields) => {
    const boxes: Array<{ name: string; rect: Rect; el: Element }> = [];
    for (const el of Array.from(top.querySelectorAll<HTMLElement>(fields))) {
      if (el.getClientRects().length === 0) continue;
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) continue;
      const label = (el.textContent ?? "").trim() || (typeof el.className === "string" ? el.className : el.tagName);
      boxes.push({ name: label, rect, el });
    }
    const found: string[] = [];
    const outer = top.getBoundingClientRect();
    for (let i = 0; i < boxes.length; i++) {
      const a = boxes[i];
      if (a.rect.right > outer.right + 1) found.push(`${a.name} sticks out on the right`);
      for (let j = i + 1; j < boxes.length; j++) {
        const b = boxes[j];
        if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
        const width = Math.min(a.rect.right, b.rect.right) - Math.max(a.rect.left, b.rect.left);
        const height = Math.min(a.rect.bottom, b.rect.bottom) - Math.max(a.rect.top, b.rect.top);
        if (width > 1 && height > 1) found.push(`${a.name} over ${b.name}`);
      }
    }
    return found;
  }, selector);
}
