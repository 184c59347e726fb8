// The console's only script: the dashboard refreshes itself, and "select all" on lists. No framework.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("panel");
  if (panel) {
    const refresh = async () => {
      try {
        const answer = await fetch(panel.dataset.refresh, {credentials: "same-origin", cache: "no-store"});
        if (answer.ok && !answer.redirected) panel.innerHTML = await answer.text();
      } catch (error) { /* offline for a moment: the next poll tries again */ }
    };
    setInterval(refresh, Number(panel.dataset.every || 3000));
  }
  for (const all of document.querySelectorAll("input.check-all")) {
    all.addEventListener("change", () => {
      for (const box of all.closest("form").querySelectorAll("input[name=ids]:not(:disabled)")) box.checked = all.checked;
    });
  }
});
