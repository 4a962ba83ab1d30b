// sessionkit's views, drawn from frames of plain data (sessionkit.render.panels.Frame):
// a caption, the state diagram (SVG), then the identity map, the event log and the SQL.
//
// One module for every host:
//   * anywidget (JupyterLab, Notebook 7, VS Code, Colab, marimo): `export default { render }`
//     draws a LiveView (a `frame` trait) or a ReplayView (`frame`, `step`, `steps`, `interval_ms`).
//   * a page with no kernel: `mountPlayer(el, framesSource({ steps, frames }))` plays frames
//     embedded in the page, with the very controls the widget has (a saved replay packs its
//     frames: `frames: unpackFrames(data)`).
//   * anything else that can say which frame to show: `mountPlayer(el, source)`, where a source
//     has steps(), step(), frame(), interval(), go(seq) and subscribe(callback) (see framesSource).
//
// The module is three files, joined in this order into one ES module by
// sessionkit/jupyter/widget.py (view_module()): picture.js (the picture of one frame),
// player.js (sources of frames and the player) and widget.js (anywidget's render). anywidget
// loads one module per widget and a saved replay inlines it, so there is no import between them.
//
// Learner data (labels, values, SQL, captions) reaches the page through textContent only; the
// SVG is parsed as XML and cleaned first (no scripts, no event handlers, no outside links).

const SVG_NS = "http://www.w3.org/2000/svg";
const SLIDE_MS = 450;
const DEFAULT_INTERVAL_MS = 800;
const UNSAFE_ELEMENTS = "script, foreignObject, iframe, object, embed, animate, set, animateMotion, animateTransform";

function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

// ------------------------------------------------------------------ the diagram
export function sanitize(text) {
  if (!text) return null;
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.namespaceURI !== SVG_NS || svg.localName !== "svg") return null;
  if (doc.getElementsByTagName("parsererror").length) return null;
  for (const bad of svg.querySelectorAll(UNSAFE_ELEMENTS)) bad.remove();
  for (const el of [svg, ...svg.querySelectorAll("*")]) {
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      const value = attr.value.trim();
      const outside = name.endsWith("href") && !value.startsWith("#");
      if (name.startsWith("on") || outside || (name === "style" && /url\s*\(/i.test(value))) {
        el.removeAttribute(attr.name);
      }
    }
  }
  return document.importNode(svg, true);
}

function tokenName(node) {
  const title = node.querySelector(":scope > title");
  return title ? title.textContent : null;
}

function positions(root) {
  const found = new Map();
  for (const node of root.querySelectorAll("g.node")) {
    const name = tokenName(node);
    if (name !== null) found.set(name, node.getBoundingClientRect());
  }
  return found;
}

function stillness() {
  return Boolean(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
}

// Each token slides from where it was to where it is now; new tokens fade in.
function slide(svg, before) {
  if (stillness() || !before.size) return;
  for (const node of svg.querySelectorAll("g.node")) {
    const old = before.get(tokenName(node));
    if (!old) {
      node.animate([{ opacity: 0 }, { opacity: 1 }], { duration: SLIDE_MS, easing: "ease-out" });
      continue;
    }
    const now = node.getBoundingClientRect();
    const ctm = node.parentNode.getScreenCTM();
    const dx = (old.left - now.left) / (ctm && ctm.a ? ctm.a : 1);
    const dy = (old.top - now.top) / (ctm && ctm.d ? ctm.d : 1);
    if (Math.abs(dx) < 0.5 && Math.abs(dy) < 0.5) continue;
    node.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "translate(0px, 0px)" }], {
      duration: SLIDE_MS,
      easing: "ease-in-out",
    });
  }
}

function drawDiagram(box, frame) {
  const before = positions(box);
  const svg = sanitize(frame.svg);
  if (svg) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", frame.summary || "state diagram");
    box.replaceChildren(svg);
    slide(svg, before);
    return;
  }
  const parts = [element("p", "sessionkit-problem", frame.problem || "The diagram could not be shown.")];
  if (frame.dot) parts.push(element("pre", "sessionkit-dot", frame.dot));
  box.replaceChildren(...parts);
}

// ------------------------------------------------------------------ the panels
function pane(name, title) {
  const section = element("section", `sessionkit-pane sessionkit-${name}`);
  section.setAttribute("aria-label", title);
  const body = element("div", "sessionkit-pane-body");
  section.append(element("h4", null, title), body);
  return { section, body };
}

function drawObjects(body, objects) {
  const rows = (objects && objects.rows) || [];
  if (!rows.length) {
    body.replaceChildren(element("p", "sessionkit-empty", "No tracked objects yet."));
    return;
  }
  const table = element("table");
  const head = element("tr");
  for (const name of objects.columns) head.append(element("th", null, name));
  table.append(element("thead"), element("tbody"));
  table.tHead.append(head);
  for (const row of rows) {
    const tr = element("tr");
    tr.dataset.state = row[1];
    for (const cell of row) tr.append(element("td", null, cell));
    table.tBodies[0].append(tr);
  }
  const parts = [table];
  if (objects.more) {
    parts.push(element("p", "sessionkit-more", `+${objects.more} more (the ${rows.length} most recently active are shown)`));
  }
  body.replaceChildren(...parts);
}

function drawLog(body, entries, current) {
  if (!entries || !entries.length) {
    body.replaceChildren(element("p", "sessionkit-empty", "No events yet."));
    return null;
  }
  const list = element("ol");
  let mark = null;
  for (const [seq, text] of entries) {
    const item = element("li", null, text);
    item.value = seq;
    if (seq === current) {
      item.className = "sessionkit-current";
      item.setAttribute("aria-current", "step");
      mark = item;
    }
    list.append(item);
  }
  body.replaceChildren(list);
  return mark;
}

// Returns the current statement, or else the newest group's title (its SQL is what to show).
function drawSql(body, groups, current) {
  if (!groups.length) {
    body.replaceChildren(element("p", "sessionkit-empty", "No SQL sent yet."));
    return null;
  }
  const parts = [];
  let mark = null;
  let newest = null;
  for (const group of groups) {
    newest = element("p", "sessionkit-sql-title", group.title);
    parts.push(newest);
    for (const statement of group.statements) {
      const text = statement.parameters ? `${statement.sql}\n-- ${statement.parameters}` : statement.sql;
      const pre = element("pre", null, text);
      if (statement.seq === current) {
        pre.className = "sessionkit-current";
        mark = pre;
      }
      parts.push(pre);
    }
    if (group.more) parts.push(element("p", "sessionkit-more", `+${group.more} more statements`));
  }
  body.replaceChildren(...parts);
  return mark || newest;
}

// Show `mark` in its pane: the current entry in the middle, another one at the top; with no
// mark, the newest entries at the bottom.
function scrollPane(body, mark) {
  if (!mark) {
    body.scrollTop = body.scrollHeight;
  } else if (mark.classList.contains("sessionkit-current")) {
    body.scrollTop = Math.max(0, mark.offsetTop - (body.clientHeight - mark.offsetHeight) / 2);
  } else {
    body.scrollTop = mark.offsetTop;
  }
}

// The picture: note, caption, diagram, then the panels side by side. update(frame) redraws
// only the parts whose data changed, so scrolling and the diagram stay put otherwise; stop()
// lets it go.
export function createPicture(host) {
  const root = element("div", "sessionkit-view");
  const note = element("p", "sessionkit-note");
  note.setAttribute("role", "status");
  note.hidden = true;
  const caption = element("p", "sessionkit-caption");
  const diagram = element("div", "sessionkit-diagram");
  const objects = pane("objects", "Identity map");
  const log = pane("log", "Event log");
  const sql = pane("sql", "SQL");
  const panels = element("div", "sessionkit-panels");
  panels.append(objects.section, log.section, sql.section);
  root.append(note, caption, diagram, panels);
  host.append(root);
  // A pane drawn before the page has laid it out cannot scroll yet (each cell's end draws a live
  // view's output again, and the host draws it before placing it): it scrolls once it has a size.
  const waiting = new Map();
  const sized =
    typeof ResizeObserver === "function" &&
    new ResizeObserver(() => {
      for (const [body, mark] of waiting) {
        if (!body.clientHeight) continue;
        waiting.delete(body);
        sized.unobserve(body);
        scrollPane(body, mark);
      }
    });
  const scroll = (body, mark) => {
    if (body.clientHeight || !sized) {
      waiting.delete(body);
      scrollPane(body, mark);
      return;
    }
    waiting.set(body, mark);
    sized.observe(body);
  };
  const last = {};
  const changed = (key, value) => {
    const text = JSON.stringify(value);
    if (last[key] === text) return false;
    last[key] = text;
    return true;
  };

  function update(frame) {
    if (!frame || typeof frame !== "object" || !("caption" in frame)) return; // not drawn yet
    note.textContent = frame.note || "";
    note.hidden = !frame.note;
    caption.textContent = frame.caption || "";
    const current = frame.current === undefined ? null : frame.current;
    if (changed("diagram", [frame.svg, frame.problem, frame.dot, frame.summary])) drawDiagram(diagram, frame);
    if (changed("objects", frame.objects)) drawObjects(objects.body, frame.objects);
    if (changed("log", [frame.log, current])) scroll(log.body, drawLog(log.body, frame.log, current));
    sql.section.hidden = frame.sql === null || frame.sql === undefined;
    if (!sql.section.hidden && changed("sql", [frame.sql, current])) {
      scroll(sql.body, drawSql(sql.body, frame.sql, current));
    }
  }

  const stop = () => sized && sized.disconnect();
  return { root, caption, update, stop };
}
