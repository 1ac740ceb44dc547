// PartnerLoop — small enhancements only: every page works without this file.
//  - copy buttons ([data-copy] names the input holding the text)
//  - the commission rule editor shows the chosen type's fields and adds tier rows
//  - "select all" checkboxes ([data-select-all] names the checkboxes)
//  - read-only link fields select their text on focus
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function copyText(input, button) {
    var text = input.value;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      button.setAttribute("data-copied", "true");
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    var fallback = function () {
      input.focus();
      input.select();
      try {
        if (document.execCommand("copy")) { done(); return; }
      } catch (e) { /* fall through: the text stays selected for Ctrl+C */ }
      button.textContent = "Press Ctrl+C";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  function setupCopy() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-copy"));
      if (!input) return;
      button.hidden = false;
      button.addEventListener("click", function () { copyText(input, button); });
    });
  }

  function setupRuleEditor(editor) {
    var radios = editor.querySelectorAll("[data-rule-type]");
    var sections = editor.querySelectorAll("[data-rule-section]");
    var show = function () {
      var chosen = "";
      radios.forEach(function (r) { if (r.checked) chosen = r.value; });
      sections.forEach(function (s) { s.hidden = s.getAttribute("data-rule-section") !== chosen; });
    };
    radios.forEach(function (r) { r.addEventListener("change", show); });
    show();

    var add = editor.querySelector("[data-add-tier]");
    var body = editor.querySelector("[data-tier-table] tbody");
    if (!add || !body) return;
    add.hidden = false;
    add.addEventListener("click", function () {
      var rows = body.querySelectorAll("[data-tier-row]");
      if (rows.length >= 20) { add.disabled = true; return; }
      var last = rows[rows.length - 1];
      var index = rows.length;
      var row = last.cloneNode(true);
      row.querySelectorAll("p.error").forEach(function (p) { p.remove(); });
      row.querySelectorAll("td").forEach(function (td) { td.classList.remove("has-error"); });
      row.querySelector("[data-tier-label]").textContent = String(index + 1);
      row.querySelectorAll("input").forEach(function (input) {
        input.name = input.name.replace(/\[\d+\]/, "[" + index + "]");
        input.id = input.id.replace(/-tiers-\d+-/, "-tiers-" + index + "-");
        input.value = "";
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      });
      row.querySelectorAll("label").forEach(function (label) {
        label.htmlFor = label.htmlFor.replace(/-tiers-\d+-/, "-tiers-" + index + "-");
        label.textContent = label.textContent.replace(/Tier \d+/, "Tier " + (index + 1));
      });
      body.appendChild(row);
      row.querySelector("input").focus();
    });
  }

  function setupSelectAll() {
    document.querySelectorAll("[data-select-all]").forEach(function (all) {
      var name = all.getAttribute("data-select-all");
      var boxes = all.form ? all.form.querySelectorAll('input[type="checkbox"][name="' + name + '"]') : [];
      all.hidden = false;
      var mark = function (box) {
        var row = box.closest("tr");
        if (row) row.classList.toggle("selected", box.checked);
      };
      var sync = function () {
        var n = 0;
        boxes.forEach(function (b) { if (b.checked) n++; });
        all.checked = n > 0 && n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      };
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = all.checked; mark(b); });
      });
      boxes.forEach(function (b) { b.addEventListener("change", function () { mark(b); sync(); }); });
      sync();
    });
  }

  // A read-only link field selects itself when focused, ready for Ctrl+C.
  function setupSelectOnFocus() {
    document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  ready(function () {
    setupCopy();
    setupSelectOnFocus();
    document.querySelectorAll("[data-rule-editor]").forEach(setupRuleEditor);
    setupSelectAll();
  });
})();
