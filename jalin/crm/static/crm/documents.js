/* Documents panel: upload progress and size checks (the forms work without this file).
 *
 * - A file over the panel's data-max-bytes is refused before anything is sent.
 * - While htmx uploads a form marked data-document-upload, its <progress> follows
 *   htmx's `htmx:xhr:progress` event.
 * - The server answers an oversized upload with 413; htmx does not swap 4xx answers by
 *   default, so the panel (which carries the message) is swapped in for this one.
 */
(function () {
  "use strict";

  function formOf(target) {
    return target && target.closest ? target.closest("form[data-document-upload]") : null;
  }

  function limitOf(form) {
    var panel = form.closest("[data-max-bytes]");
    return panel ? { bytes: parseInt(panel.dataset.maxBytes, 10), text: panel.dataset.tooLarge }
      : null;
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    var form = formOf(input);
    if (!form || input.type !== "file") { return; }
    var limit = limitOf(form);
    input.setCustomValidity("");
    if (limit && input.files && input.files.length && input.files[0].size > limit.bytes) {
      input.setCustomValidity(limit.text || "");
      input.reportValidity();
    }
  });

  document.addEventListener("htmx:xhr:loadstart", function (event) {
    var form = formOf(event.target);
    var bar = form && form.querySelector("progress");
    if (bar) { bar.value = 0; bar.hidden = false; }
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = formOf(event.target);
    var bar = form && form.querySelector("progress");
    if (bar && event.detail && event.detail.lengthComputable) {
      bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
    }
  });

  document.addEventListener("htmx:xhr:loadend", function (event) {
    var form = formOf(event.target);
    var bar = form && form.querySelector("progress");
    if (bar) { bar.hidden = true; }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.status === 413 && formOf(event.target) &&
        xhr.getResponseHeader("Content-Type").indexOf("text/html") === 0) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
