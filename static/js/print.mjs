// The print button needs JavaScript, so it is shown only when JavaScript runs.
for (const button of document.querySelectorAll('[data-module="app-print-button"]')) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
