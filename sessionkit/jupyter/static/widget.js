// Part of the views' module, after player.js (see picture.js): anywidget's entry point, and the
// live view's side-panel copy.

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
