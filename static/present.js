// The presenter view from the keyboard: move between demos, run live, fall back to the
// last good output when a live run fails on stage, and tell followers what is shown.
// Without JavaScript the buttons are links and forms, and the panels are <details>.
"use strict";

(() => {
  const root = document.getElementById("present");
  if (!root) return;
  const output = root.querySelector(".demo-output");
  const failed = root.querySelector(".present-failed");
  const status = root.querySelector(".present-status");
  const runButton = root.querySelector(".present-run button");
  const resetButton = root.querySelector("[data-action=reset]");
  const csrf = root.querySelector("input[name=csrf_token]").value;
  let lastGood = output.innerHTML;  // the cached output the page came with, then each good run
  let lastGoodAt = root.dataset.ranAt;
  let running = false;

  const MOVES = {
    ArrowRight: "ArrowRight", j: "ArrowRight",
    ArrowLeft: "ArrowLeft", k: "ArrowLeft",
    ArrowDown: "PageDown", n: "PageDown", PageDown: "PageDown",
    ArrowUp: "PageUp", p: "PageUp", PageUp: "PageUp",
  };
  const PANELS = { s: "notes", q: "follow-qr", "?": "keys" };
  // A live run that ends like this did not show what the demo shows: keep the last good one.
  const FAILED = new Set(["timeout", "crashed", "output_limit", "unavailable"]);

  function tellFollowers() {
    if (!root.dataset.followUrl) return;
    fetch(root.dataset.followUrl, { method: "POST", headers: { "X-CSRF-Token": csrf } })
      .catch(() => {});  // followers miss one update; the presenter's show goes on
  }

  function showLastGood(reason) {
    output.innerHTML = lastGood;
    failed.textContent = "live run failed: " + reason + "; " + (lastGoodAt
      ? "showing the last good output from " + lastGoodAt
      : "there is no earlier output on this server");
    failed.hidden = false;
  }

  function reset() {
    output.innerHTML = lastGood;
    failed.hidden = true;
    resetButton.hidden = true;
    status.textContent = "Showing the cached output.";
  }

  function formatTime(iso) {
    return iso.slice(0, 16).replace("T", " ") + " UTC";
  }

  async function run() {
    if (running) return;
    running = true;
    runButton.disabled = true;
    failed.hidden = true;
    resetButton.hidden = false;
    const live = document.createElement("pre");
    live.className = "out streaming";
    live.setAttribute("aria-label", "Live output");
    output.replaceChildren(live);
    status.textContent = "Running…";
    try {
      let result = null;
      await runStream(root.dataset.runUrl, (name, payload) => {
        if (name === "output") {
          live.append(document.createTextNode(payload.text));
        } else if (name === "queued") {
          const ahead = payload.ahead;
          status.textContent = ahead + (ahead === 1 ? " run" : " runs") + " ahead";
        } else if (name === "running") {
          status.textContent = "Running…";
        } else if (name === "busy") {
          throw new Error(payload.detail);
        } else if (name === "result") {
          result = payload;
          status.textContent = "Running…";
        }
      });
      if (!result) throw new Error("the run ended without a result");
      if (FAILED.has(result.status)) throw new Error(result.message || result.status);
      const panel = await fetch(root.dataset.panelUrl + "?fresh=1");
      if (!panel.ok) throw new Error("the output could not be loaded (" + panel.status + ")");
      output.innerHTML = await panel.text();  // server-rendered, escaped HTML
      lastGood = output.innerHTML;
      lastGoodAt = formatTime(result.ran_at);
      status.textContent = "Done" + (result.message ? ": " + result.message : ".");
      tellFollowers();
    } catch (error) {
      showLastGood(error.message);
      status.textContent = "Live run failed.";
    } finally {
      running = false;
      runButton.disabled = false;
    }
  }

  function toggle(id) {
    const panel = document.getElementById(id);
    if (!panel) {
      status.textContent = id === "notes" ? "This demo has no speaker notes for you." : "";
      return;
    }
    panel.open = !panel.open;
    if (panel.open) panel.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    const key = event.key;
    if (MOVES[key]) {
      const link = root.querySelector(`a[data-move="${MOVES[key]}"]`);
      if (link) location.assign(link.href);
      else status.textContent = "This is the end of the deck that way.";
    } else if (key === "r") {
      run();
    } else if (key === "Escape" || key === "0") {
      // Escape first closes an overlay (keys, QR code); the notes stay open while presenting.
      const open = [...root.querySelectorAll("#keys[open], #follow-qr[open]")];
      if (key === "Escape" && open.length) open.forEach((panel) => { panel.open = false; });
      else reset();
    } else if (PANELS[key]) {
      toggle(PANELS[key]);
    } else {
      return;
    }
    event.preventDefault();
  });

  root.querySelector(".present-run").addEventListener("submit", (event) => {
    if (!window.fetch || !window.TextDecoderStream) return;  // the form posts instead
    event.preventDefault();
    run();
  });
  resetButton.addEventListener("click", reset);
  const show = root.querySelector(".present-show");
  if (show) show.hidden = true;  // the script tells followers by itself
  tellFollowers();
})();
