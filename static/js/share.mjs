// Sharing needs JavaScript, so the button is shown only where it can work: the phone's own share
// sheet where there is one, otherwise a button that copies the link. Without either, the link above
// is there to copy by hand.
import { offerCopy } from "./copy-link.mjs";

for (const share of document.querySelectorAll('[data-module="app-share"]')) {
  const button = share.querySelector("button");
  const status = share.querySelector('[role="status"]');
  const { url, title } = share.dataset;
  if (navigator.share) {
    button.hidden = false;
    // Closing the share sheet without sharing rejects the promise: nothing to tell anyone.
    button.addEventListener("click", () => navigator.share({ title, url }).catch(() => {}));
  } else {
    button.textContent = "Copy the link to this appeal";
    offerCopy(button, status, url, "Link copied. Paste it into a message or a post to share this appeal.");
  }
}
