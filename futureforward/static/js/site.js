// Every page: show the reader our refusals in place. Views mark a 4xx fragment written for the
// reader with the X-Reader-Error header (posts/htmx.py); htmx drops 4xx answers
// otherwise, so the reader would click and see nothing happen.
document.addEventListener("htmx:beforeSwap", function (event) {
  var xhr = event.detail.xhr;
  if (xhr && xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("X-Reader-Error")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Times in the reader's own time zone. The server writes UTC ("14:30 UTC"), which stays as the
// fallback without JavaScript; <time data-local="datetime|time|title"> is rewritten here from its
// machine-readable datetime (always UTC, "Z"), for the page and for anything htmx swaps in.
(function () {
  "use strict";
  var styles = {
    datetime: { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
    time: { hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
    title: { day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
  };

  function localise(root) {
    root.querySelectorAll("time[data-local]").forEach(function (element) {
      var style = element.getAttribute("data-local");
      var when = new Date(element.getAttribute("datetime"));
      if (!styles[style] || isNaN(when.getTime())) {
        return;
      }
      var text = new Intl.DateTimeFormat(undefined, styles[style]).format(when);
      if (style === "title") {
        element.title = text;
      } else {
        element.textContent = text;
      }
    });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    localise(event.detail.elt.parentNode || document);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      localise(document);
    });
  } else {
    localise(document);
  }
})();
