const DURATION = 450;

function sanitize(text) {
  if (!text) return null;
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.localName !== "svg" || doc.getElementsByTagName("parsererror").length) return null;
  for (const bad of svg.querySelectorAll("script, foreignObject")) bad.remove();
  for (const el of svg.querySelectorAll("*")) {
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on") || (name.endsWith("href") && !attr.value.startsWith("#"))) {
        el.removeAttribute(attr.name);
      }
    }
  }
  return document.importNode(svg, true);
}

function positions(root) {
  const found = new Map();
  for (const node of root.querySelectorAll("g.node")) {
    const title = node.querySelector(":scope > title");
    if (title) found.set(title.textContent, node.getBoundingClientRect());
  }
  return found;
}

function slide(svg, before) {
  const still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  if (still || !before.size) return;
  for (const node of svg.querySelectorAll("g.node")) {
    const title = node.querySelector(":scope > title");
    const old = title ? before.get(title.textContent) : undefined;
    if (!old) {
      node.animate([{ opacity: 0 }, { opacity: 1 }], { duration: DURATION, easing: "ease-out" });
      continue;
    }
    const now = node.getBoundingClientRect();
    const ctm = node.parentNode.getScreenCTM();
    const dx = (old.left - now.left) / (ctm && ctm.a ? ctm.a : 1);
    const dy = (old.top - now.top) / (ctm && ctm.d ? ctm.d : 1);
    if (Math.abs(dx) < 0.5 && Math.abs(dy) < 0.5) continue;
    node.animate(
      [{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "translate(0px, 0px)" }],
      { duration: DURATION, easing: "ease-in-out" },
    );
  }
}

function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "sessionkit-diagram";
  el.appendChild(box);
  const show = (moving) => {
    const before = moving ? positions(box) : new Map();
    const svg = sanitize(model.get("svg"));
    if (svg) box.replaceChildren(svg);
    else box.replaceChildren();
    if (svg) slide(svg, before);
  };
  show(false);
  const onChange = () => show(true);
  model.on("change:svg", onChange);
  return () => model.off("change:svg", onChange);
}

export default { render };
