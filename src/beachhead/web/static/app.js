// Beachhead: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // A select or checkbox marked data-autosubmit submits its form when it changes.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.matches && el.matches("[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });

  // A form marked data-confirm asks before it submits (disqualify, revoke).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Keyboard: "j"/"k" move between inbox rows, "/" focuses the first filter.
  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (/INPUT|SELECT|TEXTAREA/.test(tag) || event.metaKey || event.ctrlKey || event.altKey) {
      return;
    }
    if (event.key === "/") {
      var first = document.querySelector(".filters select, .filters input");
      if (first) { event.preventDefault(); first.focus(); }
      return;
    }
    if (event.key !== "j" && event.key !== "k") { return; }
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-row-link]"));
    if (!rows.length) { return; }
    var at = rows.indexOf(document.activeElement);
    var next = event.key === "j" ? Math.min(at + 1, rows.length - 1) : Math.max(at - 1, 0);
    rows[next].focus();
    event.preventDefault();
  });
})();
