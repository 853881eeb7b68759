// The sign-in code page: a copy button, shown only where the clipboard can be written.
"use strict";
(function () {
  const button = document.getElementById("copy-code");
  const status = document.getElementById("copy-status");
  if (!button || !status || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(button.dataset.copy || "");
      status.textContent = "Copied: paste it somewhere safe.";
    } catch (error) {
      status.textContent = "Copying failed: select the code and copy it by hand.";
    }
  });
})();
