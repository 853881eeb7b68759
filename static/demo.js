// Run demos in place: stream their output as it comes, then show the server-rendered result.
// Without JavaScript the Run form posts and the page reloads with the result.
"use strict";

function formatElapsed(started) {
  const ms = performance.now() - started;
  return ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(1) + " s";
}

async function runDemo(card, form) {
  const button = form.querySelector("button");
  const status = form.querySelector(".demo-status");
  const output = card.querySelector(".demo-output");
  const live = document.createElement("pre");
  live.className = "out streaming";
  live.setAttribute("aria-label", "Live output");
  output.replaceChildren(live);
  button.disabled = true;
  card.classList.add("running");
  const started = performance.now();
  // aria-busy holds the ticking time back from screen readers until the run ends.
  status.setAttribute("aria-busy", "true");
  const timer = setInterval(() => { status.textContent = "Running… " + formatElapsed(started); }, 100);
  let finished = false;
  try {
    const response = await fetch(card.dataset.demoUrl, { method: "POST", headers: { Accept: "text/event-stream" } });
    if (!response.ok || !response.body) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.detail || "The server answered " + response.status);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let boundary;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const event = /^event: (.*)$/m.exec(block);
        const data = /^data: (.*)$/m.exec(block);
        if (!event || !data) continue;
        const payload = JSON.parse(data[1]);
        if (event[1] === "output") {
          live.append(document.createTextNode(payload.text));
        } else if (event[1] === "busy") {
          throw new Error(payload.detail);
        } else if (event[1] === "result") {
          finished = true;
          clearInterval(timer);  // else a last tick would overwrite "Done" while the panel loads
          status.textContent = "Done in " + formatElapsed(started) + (payload.message ? ": " + payload.message : "");
        }
      }
    }
    if (finished) {
      const panel = await fetch(card.dataset.panelUrl + "?fresh=1");
      if (panel.ok) output.innerHTML = await panel.text();  // server-rendered, escaped HTML
    }
  } catch (error) {
    status.textContent = error.message;
  } finally {
    clearInterval(timer);
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
