// Vidpress dashboard enhancements. Every page works without this script; it adds live
// progress (server-sent events), upload progress, the description counter and the preview.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function csrf() {
    var input = document.querySelector('input[name="csrf"]');
    return input ? input.value : "";
  }

  // Live progress: one event stream for every unfinished video on the page.
  function follow(list) {
    var ids = (list.getAttribute("data-live-ids") || "").split(",").filter(Boolean);
    if (!ids.length || !window.EventSource) return;
    var source = new EventSource("/videos/live?ids=" + encodeURIComponent(ids.join(",")));
    var states = {};
    source.addEventListener("video", function (e) {
      var v = JSON.parse(e.data);
      var row = document.getElementById("video-" + v.id);
      if (!row) return;
      row.dataset.progress = v.progress;
      var bar = row.querySelector("progress");
      if (bar) { bar.value = v.progress; bar.textContent = v.progress + "%"; }
      var percent = row.querySelector('[data-role="percent"]');
      if (percent) percent.textContent = v.progress + "%";
      var label = row.querySelector('[data-role="label"]');
      if (label) label.textContent = v.label;
      var finished = v.state === "ready" || v.state === "failed" || v.state === "cancelled";
      if (states[v.id] && states[v.id] !== v.state || finished) refreshRow(row, v.id);
      states[v.id] = v.state;
    });
    source.addEventListener("done", function () { source.close(); });
  }

  // Swaps a row for its current server rendering (actions and links change with the state).
  function refreshRow(row, id) {
    fetch("/videos/" + id + "/row", { headers: { "X-Partial": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var holder = document.createElement("ul");
        holder.innerHTML = html.trim();
        var fresh = holder.firstElementChild;
        var bar = row.querySelector("progress");
        var freshBar = fresh && fresh.querySelector("progress");
        if (bar && freshBar && bar.value > freshBar.value) freshBar.value = bar.value;
        // The last progress seen live stays on the row (100 once the draft is ready).
        if (fresh && row.dataset.progress) fresh.dataset.progress = row.dataset.progress;
        if (fresh && row.parentNode) row.parentNode.replaceChild(fresh, row);
      });
  }

  // Upload with a progress bar.
  function enhanceUpload(form) {
    form.addEventListener("submit", function (e) {
      var file = form.querySelector('input[type="file"]');
      if (!file || !file.files.length || !window.FormData) return;
      e.preventDefault();
      var bar = document.getElementById("upload-progress");
      var status = document.getElementById("upload-status");
      var button = form.querySelector('button[type="submit"]');
      bar.hidden = false; bar.value = 0; button.disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.upload.addEventListener("progress", function (p) {
        if (p.lengthComputable) {
          var pct = Math.round(p.loaded / p.total * 100);
          bar.value = pct; status.textContent = "Uploading… " + pct + "%";
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 400) {
          status.textContent = "Uploaded.";
          window.location.href = "/videos";
        } else {
          status.textContent = "The upload failed (HTTP " + xhr.status + ").";
          button.disabled = false;
        }
      });
      xhr.addEventListener("error", function () {
        status.textContent = "The upload failed: the connection was lost.";
        button.disabled = false;
      });
      xhr.send(new FormData(form));
    });
  }

  // "N / 160" beside the meta description, updated as you type.
  function counter(count) {
    var field = document.getElementById(count.getAttribute("data-count-for"));
    var max = parseInt(count.getAttribute("data-max"), 10);
    function update() {
      var n = Array.from(field.value).length;
      count.textContent = n + " / " + max;
      count.classList.toggle("over", n > max);
    }
    field.addEventListener("input", update);
    update();
  }

  // The preview follows the Markdown, rendered by the server as the export renders it.
  function preview(textarea) {
    var pane = document.getElementById("preview");
    var url = textarea.getAttribute("data-preview");
    var timer = null;
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var body = new URLSearchParams();
        body.set("markdown", textarea.value);
        fetch(url, {
          method: "POST", credentials: "same-origin", body: body,
          headers: { "X-Partial": "1", "X-CSRF-Token": csrf() }
        }).then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) { if (html !== null) pane.innerHTML = html; });
      }, 400);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-ids]").forEach(follow);
    var upload = document.getElementById("upload-form");
    if (upload) enhanceUpload(upload);
    document.querySelectorAll("[data-count-for]").forEach(counter);
    var markdown = document.querySelector("textarea[data-preview]");
    if (markdown) preview(markdown);
  });
})();
