// Definitions editor: keep the line numbers beside the textarea in step with the text.
(function () {
  "use strict";
  var text = document.getElementById("definitions-text");
  var gutter = document.getElementById("definitions-gutter");
  if (!text || !gutter) { return; }
  function update() {
    var n = text.value.split("\n").length;
    var out = [];
    for (var i = 1; i <= n; i++) { out.push(i); }
    gutter.textContent = out.join("\n") + "\n";
    text.rows = n + 3;
  }
  text.addEventListener("input", update);
  update();
})();
