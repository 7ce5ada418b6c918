/* Threads panel: Ctrl+Enter posts, and the @mention helper.
 *
 * Typing "@" (and the start of a name) in a thread textarea asks the server for matching
 * colleagues (htmx GET crm:mention_suggestions?q=) and shows them under the textarea.
 * Up/Down move, Enter or Tab picks, Escape closes; a click picks too. Event delegation on the
 * document, so it keeps working after htmx re-renders the panel. No inline code (CSP).
 */
(function () {
  "use strict";
  var TOKEN = /(^|[^\w@\/])@([\w.+-]{0,30})$/;
  var counter = 0;

  function panelOf(textarea) { return textarea.closest("[data-suggest-url]"); }

  function boxFor(textarea, create) {
    var id = textarea.getAttribute("aria-controls");
    var box = id ? document.getElementById(id) : null;
    if (!box && create) {
      counter += 1;
      box = document.createElement("ul");
      box.id = "mention-box-" + (textarea.id || counter);
      box.className = "mention-suggestions";
      box.setAttribute("role", "listbox");
      box.hidden = true;
      textarea.insertAdjacentElement("afterend", box);
      textarea.setAttribute("aria-controls", box.id);
      textarea.setAttribute("aria-autocomplete", "list");
      textarea.setAttribute("aria-expanded", "false");
    }
    return box;
  }

  function close(textarea) {
    var box = boxFor(textarea, false);
    if (box) { box.hidden = true; box.innerHTML = ""; }
    textarea.setAttribute("aria-expanded", "false");
    textarea.removeAttribute("aria-activedescendant");
    delete textarea.dataset.mentionQuery;
  }

  function options(box) {
    return Array.prototype.slice.call(box.querySelectorAll("[role=option]"));
  }

  function select(textarea, box, index) {
    var items = options(box);
    items.forEach(function (item, i) {
      item.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (items[index]) {
      textarea.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    }
  }

  function selectedIndex(box) {
    return options(box).findIndex(function (item) {
      return item.getAttribute("aria-selected") === "true";
    });
  }

  function tokenBeforeCaret(textarea) {
    var before = textarea.value.slice(0, textarea.selectionStart);
    var match = TOKEN.exec(before);
    return match ? match[2] : null;
  }

  function pick(textarea, option) {
    var username = option.getAttribute("data-username");
    var caret = textarea.selectionStart;
    var before = textarea.value.slice(0, caret);
    var after = textarea.value.slice(caret);
    var start = before.lastIndexOf("@");
    var insert = "@" + username + " ";
    textarea.value = before.slice(0, start) + insert + after;
    var position = start + insert.length;
    textarea.setSelectionRange(position, position);
    close(textarea);
    textarea.focus();
  }

  function suggest(textarea, query) {
    var panel = panelOf(textarea);
    if (!panel || !window.htmx) { return; }
    var box = boxFor(textarea, true);
    textarea.dataset.mentionQuery = query;
    var url = panel.getAttribute("data-suggest-url") + "?q=" + encodeURIComponent(query);
    window.htmx.ajax("GET", url, { source: box, target: box, swap: "innerHTML" });
  }

  // The list arrived (htmx swapped it in): show it, first colleague highlighted, unless the
  // person has moved on from the @name meanwhile.
  document.addEventListener("htmx:afterSwap", function (event) {
    var box = event.target;
    if (!box.classList || !box.classList.contains("mention-suggestions")) { return; }
    var textarea = document.querySelector("[aria-controls='" + box.id + "']");
    if (!textarea || textarea.dataset.mentionQuery === undefined) {
      box.hidden = true;
      return;
    }
    var any = box.children.length > 0;
    box.hidden = !any;
    textarea.setAttribute("aria-expanded", any ? "true" : "false");
    if (options(box).length) { select(textarea, box, 0); }
  });

  document.addEventListener("input", function (event) {
    var textarea = event.target;
    if (!textarea.matches || !textarea.matches("textarea[data-mentions]")) { return; }
    var query = tokenBeforeCaret(textarea);
    if (query === null) { close(textarea); return; }
    if (query !== textarea.dataset.mentionQuery) { suggest(textarea, query); }
  });

  document.addEventListener("keydown", function (event) {
    var textarea = event.target;
    if (!textarea.matches || !textarea.matches("textarea[data-mentions]")) { return; }
    var box = boxFor(textarea, false);
    var open = box && !box.hidden && options(box).length > 0;
    if (open) {
      var index = selectedIndex(box);
      var count = options(box).length;
      if (event.key === "ArrowDown") {
        event.preventDefault(); select(textarea, box, (index + 1) % count); return;
      }
      if (event.key === "ArrowUp") {
        event.preventDefault(); select(textarea, box, (index - 1 + count) % count); return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && !event.ctrlKey && !event.metaKey) {
        event.preventDefault(); pick(textarea, options(box)[Math.max(index, 0)]); return;
      }
      if (event.key === "Escape") { event.preventDefault(); close(textarea); return; }
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && textarea.form) {
      event.preventDefault();
      close(textarea);
      if (textarea.form.requestSubmit) { textarea.form.requestSubmit(); }
      else { textarea.form.submit(); }
    }
  });

  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest(".mention-suggestions [role=option]");
    if (!option) { return; }
    event.preventDefault();
    var box = option.closest(".mention-suggestions");
    var textarea = document.querySelector("[aria-controls='" + box.id + "']");
    if (textarea) { pick(textarea, option); }
  });

  document.addEventListener("focusout", function (event) {
    var textarea = event.target;
    if (textarea.matches && textarea.matches("textarea[data-mentions]")) {
      window.setTimeout(function () {
        if (document.activeElement !== textarea) { close(textarea); }
      }, 150);
    }
  });
})();
