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

// ------------------------------------------------------------------ sources of frames
function nearest(steps, seq) {
  let found = steps.length ? steps[0] : 0;
  for (const step of steps) if (step <= seq) found = step;
  return found;
}

// A source over frames embedded in a page: `frames` is one frame per step, in the order of
// `steps` (the seq numbers), or an object keyed by seq. Nothing here needs a kernel.
export function framesSource({ steps, frames, start, interval = DEFAULT_INTERVAL_MS }) {
  const listeners = new Set();
  let current = nearest(steps, start === undefined || start === null ? steps[0] : start);
  const frameOf = (seq) => (Array.isArray(frames) ? frames[steps.indexOf(seq)] : frames[seq]);
  return {
    steps: () => steps,
    step: () => current,
    frame: () => frameOf(current) || null,
    interval: () => interval,
    go(seq) {
      const next = nearest(steps, seq);
      if (next === current) return;
      current = next;
      for (const listener of Array.from(listeners)) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

// The frames of a saved replay, put back together: `data` (sessionkit.jupyter.page.pack) stores
// each distinct piece (SVG of a box, an edge or a token, a log line, an SQL group) once in
// `pool`, and each frame as the numbers of its pieces.
export function unpackFrames(data) {
  const pool = data.pool;
  const at = (i) => pool[i];
  return data.frames.map((f) => ({
    caption: at(f.caption),
    current: f.current,
    svg: f.svg.map(at).join(""),
    summary: at(f.summary),
    problem: at(f.problem),
    dot: at(f.dot),
    objects: { columns: at(f.objects.columns), rows: f.objects.rows.map(at), more: f.objects.more },
    log: f.log.map(at),
    sql: f.sql === null ? null : f.sql.map(at),
    note: at(f.note),
  }));
}

// A source over a ReplayView's model: going to a step sets `step`; Python answers with `frame`.
export function modelSource(model) {
  const events = ["change:frame", "change:step", "change:steps", "change:interval_ms"];
  return {
    steps: () => model.get("steps") || [],
    step: () => model.get("step"),
    frame: () => model.get("frame"),
    interval: () => model.get("interval_ms") || DEFAULT_INTERVAL_MS,
    go(seq) {
      model.set("step", seq);
      model.save_changes();
    },
    subscribe(listener) {
      for (const name of events) model.on(name, listener);
      return () => {
        for (const name of events) model.off(name, listener);
      };
    },
  };
}

// ------------------------------------------------------------------ the player
const ICONS = {
  first: "M3 2h2v12H3zM14 2v12L6 8z",
  back: "M12 2v12L4 8z",
  play: "M4 2v12l10-6z",
  pause: "M3 2h4v12H3zM9 2h4v12H9z",
  forward: "M4 2v12l8-6z",
  last: "M11 2h2v12h-2zM2 2v12l8-6z",
};

function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

function button(name, label, text) {
  const el = element("button", `sessionkit-button sessionkit-${name}`);
  el.type = "button";
  el.title = label;
  el.setAttribute("aria-label", label);
  el.append(icon(name));
  if (text) el.append(element("span", null, text));
  return el;
}

// Controls over a source of frames: Play/Pause, first, back, forward, last, a slider, and the
// Left/Right arrow, Home, End and Space keys while the player has the focus. Returns a cleanup.
export function mountPlayer(host, source) {
  const picture = createPicture(host);
  const root = picture.root;
  root.classList.add("sessionkit-player");
  root.tabIndex = 0;
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "Replay: Left and Right arrows step, Home and End jump, Space plays or pauses");
  picture.caption.setAttribute("aria-live", "polite");
  const controls = element("div", "sessionkit-controls");
  const play = button("play", "Play", "Play");
  const first = button("first", "First event");
  const back = button("back", "Previous event");
  const forward = button("forward", "Next event");
  const last = button("last", "Last event");
  const slider = element("input", "sessionkit-slider");
  slider.type = "range";
  slider.min = "0";
  slider.step = "1";
  slider.setAttribute("aria-label", "Event");
  const position = element("span", "sessionkit-position");
  controls.append(play, first, back, forward, last, slider, position);
  root.prepend(controls);

  let playing = false;
  let timer = null;
  let shown = null;

  const steps = () => source.steps() || [];
  const index = () => Math.max(0, steps().indexOf(nearest(steps(), source.step())));
  const go = (i) => {
    const all = steps();
    if (!all.length) return;
    const seq = all[Math.min(Math.max(i, 0), all.length - 1)];
    if (seq !== source.step()) source.go(seq);
  };
  const wait = (ms) => {
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  };
  function tick() {
    timer = null;
    if (!playing) return;
    if (index() >= steps().length - 1) {
      pause();
      return;
    }
    // The next tick waits for this step's frame (refresh sets it); this one covers a frame that never comes.
    wait(Math.max(2000, 4 * source.interval()));
    go(index() + 1);
  }
  function pause() {
    playing = false;
    clearTimeout(timer);
    timer = null;
    refresh();
  }
  function start() {
    if (steps().length < 2) return;
    playing = true;
    if (index() >= steps().length - 1) go(0);
    else wait(source.interval());
    refresh();
  }
  const moveBy = (delta) => {
    pause();
    go(index() + delta);
  };
  const moveTo = (i) => {
    pause();
    go(i);
  };

  function refresh() {
    const frame = source.frame();
    if (frame && frame !== shown) {
      shown = frame;
      picture.update(frame);
      if (playing) wait(source.interval());
    }
    const all = steps();
    const i = index();
    const none = all.length === 0;
    slider.max = String(Math.max(all.length - 1, 0));
    slider.value = String(i);
    slider.disabled = none;
    slider.setAttribute("aria-valuetext", none ? "nothing recorded" : `event ${all[i]}, step ${i + 1} of ${all.length}`);
    position.textContent = none ? "no events" : `step ${i + 1} of ${all.length}`;
    first.disabled = back.disabled = none || i === 0;
    forward.disabled = last.disabled = none || i === all.length - 1;
    play.disabled = all.length < 2;
    const label = playing ? "Pause" : "Play";
    play.replaceChildren(icon(playing ? "pause" : "play"), element("span", null, label));
    play.title = label;
    play.setAttribute("aria-label", label);
    root.classList.toggle("sessionkit-playing", playing);
  }

  const clicks = [
    [play, () => (playing ? pause() : start())],
    [first, () => moveTo(0)],
    [back, () => moveBy(-1)],
    [forward, () => moveBy(1)],
    [last, () => moveTo(steps().length - 1)],
  ];
  for (const [el, action] of clicks) el.addEventListener("click", action);
  slider.addEventListener("input", () => moveTo(Number(slider.value)));
  root.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const keys = {
      ArrowLeft: () => moveBy(-1),
      ArrowRight: () => moveBy(1),
      Home: () => moveTo(0),
      End: () => moveTo(steps().length - 1),
    };
    let action = keys[event.key];
    if (!action && event.key === " " && event.target === root) action = () => (playing ? pause() : start());
    if (!action) return;
    event.preventDefault();
    event.stopPropagation(); // the notebook's own shortcuts stay out of it
    action();
  });
  // A click anywhere in the player (not on a control) gives it the focus, so the keys work.
  root.addEventListener("mousedown", (event) => {
    if (!event.target.closest("button, input")) root.focus();
  });

  const unsubscribe = source.subscribe(refresh);
  refresh();
  return () => {
    playing = false;
    clearTimeout(timer);
    unsubscribe();
    picture.stop();
  };
}

// ------------------------------------------------------------------ anywidget
const SIDE_WAIT_MS = 4000;
// The side views this page has shown no side panel for. Each cell's end draws a view's outputs
// again, so a copy of one of these says so at once instead of waiting for a panel all over again.
const withoutSide = new Set();

function mountPicture(host, model) {
  const picture = createPicture(host);
  const show = () => picture.update(model.get("frame"));
  show();
  model.on("change:frame", show);
  return () => {
    model.off("change:frame", show);
    picture.stop();
  };
}

// A live view opened beside the notebook (view(side=True)) is displayed twice: in a JupyterLab
// side panel (sidecar's `.jupyterlab-sidecar`) and inline. The inline copy folds into one
// sentence once the side copy is on the page; where none appears, it stays and says so.
function mountLive(host, model) {
  const side = model.get("side");
  if (!side) return mountPicture(host, model);
  // Which copy this is shows only once the page has put it in place: look until it has.
  const key = side.replace(/[^0-9a-f]/g, "");
  const note = element("p", "sessionkit-side-note");
  note.setAttribute("role", "status");
  note.hidden = true;
  const inline = element("div");
  host.append(note, inline);
  const stop = mountPicture(inline, model);
  const started = Date.now();
  let timer = null;
  const look = () => {
    timer = null;
    if (host.isConnected && host.closest(".jupyterlab-sidecar")) {
      host.dataset.sessionkitSide = key; // the copy in the side panel: the whole view, nothing to say
      note.hidden = true;
      return;
    }
    note.hidden = false;
    if (document.querySelector(`.jupyterlab-sidecar [data-sessionkit-side="${key}"]`)) {
      inline.hidden = true;
      note.textContent = "The live view is in the side panel on the right, in sight as you work further down.";
      return;
    }
    if (withoutSide.has(key) || Date.now() - started > SIDE_WAIT_MS) {
      withoutSide.add(key);
      note.textContent = "There is no side panel here, so the live view is shown inline.";
      return;
    }
    note.textContent = "Opening the live view in a side panel\u2026";
    timer = setTimeout(look, 150);
  };
  look();
  return () => {
    clearTimeout(timer);
    stop();
  };
}

function render({ model, el }) {
  return Array.isArray(model.get("steps")) ? mountPlayer(el, modelSource(model)) : mountLive(el, model);
}

export default { render };
