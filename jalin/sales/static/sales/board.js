// Kanban board of opportunities: native HTML5 drag and drop plus keyboard moves.
// Without JavaScript the arrow buttons on each card still move it (plain form posts).
(function () {
  "use strict";

  let dragged = null;
  let focusAfterSwap = null;

  function board() { return document.getElementById("board"); }

  function cardAfterPointer(list, y) {
    // The card whose middle is just below the pointer: the dropped card goes before it.
    let closest = null;
    let closestOffset = Number.NEGATIVE_INFINITY;
    for (const card of list.querySelectorAll(".board-card:not(.is-dragging)")) {
      const box = card.getBoundingClientRect();
      const offset = y - box.top - box.height / 2;
      if (offset < 0 && offset > closestOffset) {
        closestOffset = offset;
        closest = card;
      }
    }
    return closest;
  }

  function move(card, stage, after, before) {
    const values = { stage: stage, version: card.dataset.version };
    if (after) values.after = after;
    if (before) values.before = before;
    const filters = new URLSearchParams(board().dataset.filters || "");
    for (const [key, value] of filters) values[key] = value;
    focusAfterSwap = card.dataset.id;
    window.htmx.ajax("POST", card.dataset.moveUrl, {
      source: card, target: "#board", swap: "outerHTML", values: values,
    });
  }

  document.addEventListener("dragstart", (event) => {
    const card = event.target.closest && event.target.closest(".board-card[draggable=true]");
    if (!card) return;
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.id);
  });

  document.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("is-dragging");
    for (const list of document.querySelectorAll(".board-cards.is-over")) {
      list.classList.remove("is-over");
    }
    dragged = null;
  });

  document.addEventListener("dragover", (event) => {
    const list = event.target.closest && event.target.closest(".board-column");
    if (!list || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    const cards = list.querySelector(".board-cards");
    cards.classList.add("is-over");
    const before = cardAfterPointer(cards, event.clientY);
    const more = cards.querySelector(".board-more");
    if (before) cards.insertBefore(dragged, before);
    else if (more) cards.insertBefore(dragged, more);
    else cards.appendChild(dragged);
  });

  document.addEventListener("dragleave", (event) => {
    const list = event.target.closest && event.target.closest(".board-cards");
    if (list && !list.contains(event.relatedTarget)) list.classList.remove("is-over");
  });

  document.addEventListener("drop", (event) => {
    const column = event.target.closest && event.target.closest(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    const card = dragged;
    const previous = card.previousElementSibling;
    const next = card.nextElementSibling;
    const after = previous && previous.classList.contains("board-card") ? previous.dataset.id : "";
    const before = next && next.classList.contains("board-card") ? next.dataset.id : "";
    move(card, column.dataset.stage, after, before);
  });

  // Keyboard: Alt+ArrowRight / Alt+ArrowLeft (or ] and [) move the focused card to the
  // next / previous stage; ArrowUp/ArrowDown walk the cards of a column.
  document.addEventListener("keydown", (event) => {
    const card = event.target.closest && event.target.closest(".board-card");
    if (!card || event.target !== card) return;
    let direction = null;
    if ((event.altKey && event.key === "ArrowRight") || event.key === "]") direction = "next";
    if ((event.altKey && event.key === "ArrowLeft") || event.key === "[") direction = "previous";
    if (direction) {
      // Post the button's stage with htmx.ajax rather than clicking the button: for 20 ms
      // after a swap (until htmx settles) the new buttons are plain forms, and a quick second
      // key press would submit one as a full page load and lose the focus.
      const button = card.querySelector(`.card-move[data-move="${direction}"]`);
      if (button && button.form) {
        event.preventDefault();
        move(card, button.form.elements.stage.value, "", "");
      }
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const sibling = event.key === "ArrowDown" ? card.nextElementSibling : card.previousElementSibling;
      if (sibling && sibling.classList.contains("board-card")) {
        event.preventDefault();
        sibling.focus();
      }
    } else if (event.key === "Enter") {
      const link = card.querySelector(".card-name");
      if (link) link.click();
    }
  });

  // Keep the filters on moves made with the card buttons too.
  document.addEventListener("htmx:configRequest", (event) => {
    const source = event.detail.elt;
    if (!source || !source.closest || !source.closest("#board")) return;
    const card = source.closest(".board-card");
    if (card) focusAfterSwap = card.dataset.id;
    const filters = new URLSearchParams((board() && board().dataset.filters) || "");
    for (const [key, value] of filters) {
      if (!(key in event.detail.parameters)) event.detail.parameters[key] = value;
    }
  });

  document.addEventListener("htmx:afterSettle", () => {
    if (!focusAfterSwap) return;
    const card = document.getElementById(`card-${focusAfterSwap}`);
    focusAfterSwap = null;
    // Leave the focus alone if the person has meanwhile put it somewhere (another card).
    const active = document.activeElement;
    if (card && (!active || active === document.body)) card.focus();
  });
})();
