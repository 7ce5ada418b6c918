// Small behaviours that must not be inline scripts (CSP forbids them).
// Everything here is an enhancement: pages work with JavaScript off.

// <select data-autosubmit> submits its form on change (language switch).
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("[data-autosubmit]")) el.form.requestSubmit();
});

// The organization switcher closes on Escape (focus returns to it) and on a click elsewhere.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const details of document.querySelectorAll("details.org-switcher[open]")) {
    details.open = false;
    details.querySelector("summary").focus();
  }
});
document.addEventListener("click", (event) => {
  for (const details of document.querySelectorAll("details.org-switcher[open]")) {
    if (!details.contains(event.target)) details.open = false;
  }
});
