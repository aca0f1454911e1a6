// Tiny DOM helpers: build elements from data without innerHTML, so API strings are
// always text. No state, no framework.

const PROPS = new Set(["value", "checked", "selected", "indeterminate"]);
const SVG_NS = "http://www.w3.org/2000/svg";

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (PROPS.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** h("a", {href: "#/x"}, "text", child, [more]) -> element */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let uid = 0;
/** A page-unique id for label/aria wiring. */
export function nextId(prefix = "wd") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * A box that scrolls sideways inside its card (a wide table on a phone), with a visible
 * cue: data-more="right", "left" or "left right" while columns are hidden that way (the
 * CSS draws a fade and an arrow on that edge, and the hint line shows).
 */
export function scrollBox(content, className = "table-wrap") {
  const box = h("div", { class: className, tabindex: "0" }, content);
  const hint = h("p", { class: "scroll-hint", "aria-hidden": "true" }, "Scroll sideways for more columns");
  const outer = h("div", { class: "scroll-x" }, hint, box);
  const mark = () => {
    const more = [];
    if (box.scrollLeft > 1) more.push("left");
    if (box.scrollLeft + box.clientWidth < box.scrollWidth - 1) more.push("right");
    outer.dataset.more = more.join(" ");
  };
  box.addEventListener("scroll", mark, { passive: true });
  new ResizeObserver(mark).observe(box);
  return outer;
}
