// A button that copies a link, shown only where the browser lets a page write to the clipboard:
// without it, the link printed on the page is there to copy by hand.
export function offerCopy(button, status, url, copied) {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url);
      status.textContent = copied;
    } catch {
      status.textContent = "Your browser did not let us copy the link. Select the link above and copy it.";
    }
  });
}

for (const copy of document.querySelectorAll('[data-module="app-copy-link"]')) {
  const copied = "Link copied. Keep it somewhere safe, such as a note or an email to yourself.";
  offerCopy(copy.querySelector("button"), copy.querySelector('[role="status"]'), copy.dataset.url, copied);
}
