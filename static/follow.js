// Follow the presenter: each `slide` event replaces the page's slide with the server's HTML.
// Without JavaScript the page shows the slide it was loaded with, and a Reload link.
"use strict";

(() => {
  const slide = document.getElementById("follow-slide");
  const live = document.getElementById("follow-live");
  if (!slide || !window.EventSource) return;
  const source = new EventSource(slide.dataset.eventsUrl);
  source.addEventListener("open", () => { live.textContent = "Following the presenter live."; });
  source.addEventListener("error", () => {
    // Closed: the server refused the stream (too many followers); otherwise it retries.
    live.textContent = source.readyState === EventSource.CLOSED
      ? "This server cannot take more followers now: reload the page in a minute."
      : "Reconnecting to the presenter…";
  });
  source.addEventListener("slide", (event) => {
    const data = JSON.parse(event.data);
    if (String(data.revision) === slide.dataset.revision) return;
    slide.dataset.revision = data.revision;
    slide.innerHTML = data.html;  // rendered and escaped by the server
    live.textContent = "Following the presenter live" + (data.title ? ": " + data.title : ".");
  });
})();
