// Run demos in place: stream their output as it comes, then show the server-rendered result.
// While the run waits for a worker the last cached output stays shown, with how many runs
// are ahead. Without JavaScript the Run form posts and the page reloads with the result.
"use strict";

function aheadNotice(ahead) {
  const runs = ahead === 0 ? "Next in line" : ahead + (ahead === 1 ? " run" : " runs") + " ahead of yours";
  return "Queued: " + runs + " · showing the last cached output";
}

function formatElapsed(started) {
  const ms = performance.now() - started;
  return ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(1) + " s";
}

async function runDemo(card, form) {
  const button = form.querySelector("button");
  const status = form.querySelector(".demo-status");
  const output = card.querySelector(".demo-output");
  let live = null;
  let ahead = null;  // runs ahead of this one while it waits for a worker; null once it runs
  const showLive = () => {  // the cached output gives way to the live one once it runs
    ahead = null;
    output.classList.remove("stale");
    if (live) return;
    live = document.createElement("pre");
    live.className = "out streaming";
    live.setAttribute("aria-label", "Live output");
    output.replaceChildren(live);
  };
  button.disabled = true;
  card.classList.add("running");
  const started = performance.now();
  // aria-busy holds the ticking time back from screen readers until the run ends.
  status.setAttribute("aria-busy", "true");
  const tick = () => {
    status.textContent = ahead === null ? "Running… " + formatElapsed(started) : aheadNotice(ahead);
  };
  const timer = setInterval(tick, 100);
  let finished = false;
  try {
    await runStream(card.dataset.demoUrl, (name, payload) => {
      if (name === "queued") {
        ahead = payload.ahead;
        output.classList.add("stale");
        tick();
      } else if (name === "running") {
        showLive();
      } else if (name === "output") {
        showLive();
        live.append(document.createTextNode(payload.text));
      } else if (name === "busy") {
        throw new Error(payload.detail);
      } else if (name === "result") {
        finished = true;
        clearInterval(timer);  // else a last tick would overwrite "Done" while the panel loads
        status.textContent = "Done in " + formatElapsed(started) + (payload.message ? ": " + payload.message : "");
      }
    });
    if (finished) {
      const panel = await fetch(card.dataset.panelUrl + "?fresh=1");
      if (panel.ok) output.innerHTML = await panel.text();  // server-rendered, escaped HTML
    }
  } catch (error) {
    status.textContent = error.message;
  } finally {
    clearInterval(timer);
    output.classList.remove("stale");
    status.removeAttribute("aria-busy");
    button.disabled = false;
    card.classList.remove("running");
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form.demo-run");
  if (!form || !window.fetch || !window.TextDecoderStream) return;
  event.preventDefault();
  runDemo(form.closest(".demo"), form);
});
