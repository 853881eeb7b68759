// Start a live demo run and read its server-sent events (a POST, so not EventSource): calls
// onEvent(name, payload) for each one, in order. A refused run throws with the server's
// reason, and so does anything onEvent throws. Shared by the question pages, the presenter
// view and a live round's screen.
"use strict";

async function runStream(url, onEvent) {
  const response = await fetch(url, { method: "POST", headers: { Accept: "text/event-stream" } });
  if (!response.ok || !response.body) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.detail || "The server answered " + response.status);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let boundary;
    while ((boundary = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const event = /^event: (.*)$/m.exec(block);
      const data = /^data: (.*)$/m.exec(block);
      if (event && data) onEvent(event[1], JSON.parse(data[1]));
    }
  }
}
