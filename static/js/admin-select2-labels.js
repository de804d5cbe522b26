// The admin's autocomplete (select2) gives its role="textbox" no accessible name: point it at the field's label.
// A classic script, as Django admin media are; "load" fires after select2 has been set up on DOM ready.
"use strict";
window.addEventListener("load", () => {
  for (const rendered of document.querySelectorAll(".select2-selection__rendered[role=textbox]")) {
    const fieldId = rendered.id.replace(/^select2-/, "").replace(/-container$/, "");
    const label = document.querySelector(`label[for="${fieldId}"]`);
    if (!label) continue;
    label.id ||= `${fieldId}-label`;
    rendered.setAttribute("aria-labelledby", label.id);
    rendered.closest(".select2-selection")?.setAttribute("aria-labelledby", `${label.id} ${rendered.id}`);
  }
});
