// Part of the views' module, after picture.js (see there): where frames come from, and the player
// that steps through them with its own controls, in a widget or in a page with no kernel.

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
