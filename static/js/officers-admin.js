// Fix-ups to Django admin's own scripts, on every officers' page. A classic script, as Django admin media
// are. The admin sets up select2 in a jQuery ready handler, which jQuery 3 runs asynchronously, so it can
// come after "load": the fix-ups are queued behind it.
"use strict";
window.addEventListener("load", () => (window.django?.jQuery ?? ((fixUp) => fixUp()))(fixUpAdmin));

function fixUpAdmin() {
  // The admin's autocomplete (select2) gives its role="textbox" no accessible name: point it at the field's label.
  for (const rendered of document.querySelectorAll(".select2-selection__rendered[role=textbox]")) {
    const fieldId = rendered.id.replace(/^select2-/, "").replace(/-container$/, "");
    const label = document.querySelector(`label[for="${fieldId}"]`);
    if (!label) continue;
    label.id ||= `${fieldId}-label`;
    rendered.setAttribute("aria-labelledby", label.id);
    rendered.closest(".select2-selection")?.setAttribute("aria-labelledby", `${label.id} ${rendered.id}`);
  }
  // inlines.js puts autocomplete="off" on the formset counts (hidden inputs, where HTML forbids it) so that
  // Firefox does not restore stale counts on reload; the same on their form does it validly.
  for (const hidden of document.querySelectorAll("input[type=hidden][autocomplete]")) {
    hidden.removeAttribute("autocomplete");
    hidden.form?.setAttribute("autocomplete", "off");
  }
}
