// A live round: replace the figures when the server sends new ones (server-sent events),
// post the presenter's picks without leaving the page, and on the screen view run the demo
// the presenter asked for. Without JavaScript the pages reload to show the same.
"use strict";

function streamDemo(section, index) {
  const status = section.querySelector(".demo-status");
  const output = section.querySelector("pre");
  const url = "/api/questions/" + section.dataset.question + "/demos/" + index + "/run/stream";
  output.hidden = false;
  output.textContent = "";
  status.textContent = "Demo " + index + ": running…";
  runStream(url, (name, payload) => {
    if (name === "output") output.append(document.createTextNode(payload.text));
    else if (name === "queued") status.textContent = "Demo " + index + ": waiting for a worker…";
    else if (name === "busy") throw new Error(payload.detail);
    else if (name === "result") status.textContent = "Demo " + index + ": done" + (payload.message ? ": " + payload.message : "");
  }).catch((error) => { status.textContent = "Demo " + index + ": " + error.message; });
}

function follow(region) {
  if (!window.EventSource) return;
  const demo = document.getElementById("round-demo");
  let runs = demo ? Number(demo.dataset.runs) : 0;
  const source = new EventSource(region.dataset.events);
  source.addEventListener("figures", (event) => {
    const data = JSON.parse(event.data);
    region.innerHTML = data.html;  // rendered and escaped by the server
    if (demo && data.demo.runs > runs && data.demo.index) streamDemo(demo, data.demo.index);
    runs = data.demo.runs;
    if (data.closed) source.close();
  });
}

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form.round-action");
  if (!form || !window.fetch || !document.querySelector("[data-events]")) return;
  event.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  fetch(form.action, { method: "POST", body: new FormData(form) })
    .catch(() => form.submit())
    .finally(() => { button.disabled = false; });
});

const region = document.querySelector("[data-events]");
if (region) follow(region);
