// Header search typeahead, the account picker and the bulk-selection helpers.
// Loaded by core/_nav_search.html on every page for members who can read the CRM.
// Enhancements only: without JavaScript the search box submits to the results page.
(function () {
  "use strict";

  // --- Header typeahead (ARIA combobox; htmx fills the listbox) ---------------------------
  function setupNavSearch(form) {
    const input = form.querySelector('[role="combobox"]');
    const listbox = form.querySelector('[role="listbox"]');
    if (!input || !listbox) return;
    let active = -1;

    function options() {
      return Array.from(listbox.querySelectorAll('[role="option"]'));
    }
    function open() {
      const hasContent = listbox.children.length > 0 && input.value.trim().length >= 2;
      listbox.hidden = !hasContent;
      input.setAttribute("aria-expanded", hasContent ? "true" : "false");
    }
    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      highlight(-1);
    }
    function highlight(index) {
      const items = options();
      active = index;
      items.forEach((item, i) => item.setAttribute("aria-selected", i === index ? "true" : "false"));
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    document.body.addEventListener("htmx:afterSwap", (event) => {
      const target = event.detail && event.detail.target;
      if (target !== listbox) return;
      // A later answer replaces the list: keep the highlighted hit if it is still there.
      const previous = input.getAttribute("aria-activedescendant");
      const items = options();
      highlight(previous ? items.findIndex((item) => item.id === previous) : -1);
      open();
    });
    input.addEventListener("input", () => { if (input.value.trim().length < 2) close(); });
    input.addEventListener("focus", () => { if (listbox.children.length) open(); });
    input.addEventListener("keydown", (event) => {
      const items = options();
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (listbox.hidden) open();
        if (items.length) highlight(active + 1 >= items.length ? 0 : active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (items.length) highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter") {
        if (active >= 0 && items[active] && !listbox.hidden) {
          event.preventDefault();
          window.location.assign(items[active].getAttribute("href"));
        } else if (input.value.trim()) {
          // No selection: the full results page.
          event.preventDefault();
          const params = new URLSearchParams({ q: input.value.trim() });
          window.location.assign(`${form.dataset.resultsUrl}?${params}`);
        }
      } else if (event.key === "Escape") {
        if (!listbox.hidden) { event.preventDefault(); close(); }
        else if (input.value) { input.value = ""; }
      }
    });
    document.addEventListener("click", (event) => {
      if (!form.contains(event.target)) close();
    });
  }

  // "/" focuses the header search unless the user is typing somewhere.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    const input = document.getElementById("nav-search-input");
    if (input) { event.preventDefault(); input.focus(); input.select(); }
  });

  // --- Account picker --------------------------------------------------------------------
  function setupPicker(root) {
    const text = root.querySelector("[data-picker-text]");
    const hidden = root.querySelector("[data-picker-value]");
    const list = root.querySelector("[data-picker-list]");
    const url = root.dataset.lookupUrl;
    let timer = null;
    let active = -1;
    let controller = null;

    function items() { return Array.from(list.querySelectorAll('[role="option"]')); }
    function close() {
      list.hidden = true;
      text.setAttribute("aria-expanded", "false");
      text.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function highlight(index) {
      const all = items();
      active = index;
      all.forEach((item, i) => item.setAttribute("aria-selected", i === index ? "true" : "false"));
      if (all[index]) text.setAttribute("aria-activedescendant", all[index].id);
    }
    function choose(item) {
      hidden.value = item.dataset.id;
      text.value = item.dataset.name;
      close();
    }
    function render(results) {
      list.textContent = "";
      results.forEach((result, i) => {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.id = `${text.id}_option_${i}`;
        li.dataset.id = String(result.id);
        li.dataset.name = result.name;
        li.textContent = result.name;
        if (result.subtitle) {
          const small = document.createElement("small");
          small.className = "muted";
          small.textContent = ` ${result.subtitle}`;
          li.appendChild(small);
        }
        li.addEventListener("mousedown", (event) => { event.preventDefault(); choose(li); });
        list.appendChild(li);
      });
      list.hidden = results.length === 0;
      text.setAttribute("aria-expanded", results.length ? "true" : "false");
      active = -1;
    }
    function lookup() {
      const q = text.value.trim();
      if (q.length < 2) { render([]); return; }
      if (controller) controller.abort();
      controller = new AbortController();
      const params = new URLSearchParams({ q });
      if (root.dataset.exclude) params.set("exclude", root.dataset.exclude);
      fetch(`${url}?${params}`, { signal: controller.signal, credentials: "same-origin",
                                  headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : { results: [] }))
        .then((data) => render(data.results || []))
        .catch(() => {});
    }
    text.addEventListener("input", () => {
      if (!text.value.trim()) hidden.value = "";
      clearTimeout(timer);
      timer = setTimeout(lookup, 150);
    });
    text.addEventListener("keydown", (event) => {
      const all = items();
      if (event.key === "ArrowDown" && all.length) {
        event.preventDefault();
        list.hidden = false;
        highlight(active + 1 >= all.length ? 0 : active + 1);
      } else if (event.key === "ArrowUp" && all.length) {
        event.preventDefault();
        highlight(active <= 0 ? all.length - 1 : active - 1);
      } else if (event.key === "Enter" && active >= 0 && !list.hidden) {
        event.preventDefault();
        choose(all[active]);
      } else if (event.key === "Escape") {
        close();
      }
    });
    text.addEventListener("blur", () => setTimeout(close, 150));
  }

  // --- Bulk selection on lists -----------------------------------------------------------
  function setupBulk(form) {
    const boxes = () => Array.from(document.querySelectorAll('input[name="ids"][form="bulk-form"]'));
    const all = document.querySelector("[data-bulk-all]");
    const count = form.querySelector("[data-bulk-count]");
    const action = form.querySelector("[data-bulk-action]");
    const owner = form.querySelector("[data-bulk-owner]");
    const tag = form.querySelector("[data-bulk-tag]");
    function update() {
      const selected = boxes().filter((box) => box.checked).length;
      if (count) count.textContent = selected ? `${selected} ✓` : "";
      if (all) {
        all.checked = selected > 0 && selected === boxes().length;
        all.indeterminate = selected > 0 && selected < boxes().length;
      }
    }
    function syncAction() {
      const isOwner = !action || action.value === "assign_owner";
      if (owner) owner.hidden = !isOwner;
      if (tag) { tag.hidden = isOwner; tag.required = !isOwner; }
    }
    if (all) all.addEventListener("change", () => { boxes().forEach((box) => { box.checked = all.checked; }); update(); });
    document.addEventListener("change", (event) => { if (event.target.matches('input[name="ids"]')) update(); });
    if (action) action.addEventListener("change", syncAction);
    syncAction();
    update();
  }

  function init() {
    document.querySelectorAll("[data-nav-search]").forEach(setupNavSearch);
    document.querySelectorAll("[data-account-picker]").forEach(setupPicker);
    document.querySelectorAll("[data-bulk-form]").forEach(setupBulk);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
