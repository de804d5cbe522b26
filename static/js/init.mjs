// Runs only where ES modules are supported, which is GOV.UK Frontend's own support test,
// so there is no inline script and the strict Content-Security-Policy needs no nonce.
import { initAll } from "../vendor/govuk-frontend/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
