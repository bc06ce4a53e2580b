// Reader polls. Confirms an email vote link as soon as the page opens (the form posts itself;
// without JavaScript the reader taps "Confirm"), and lets htmx show a poll's 4xx answers, which
// carry a message for the reader, instead of dropping them.
(function () {
  "use strict";
  if (window.futureForwardPolls) {
    return;
  }
  window.futureForwardPolls = true;

  function confirmEmailVotes() {
    document.querySelectorAll("form[data-poll-autosubmit]").forEach(function (form) {
      if (form.dataset.submitted) {
        return;
      }
      form.dataset.submitted = "true";
      if (form.requestSubmit) {
        form.requestSubmit();
      } else {
        form.submit();
      }
    });
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var source = event.detail.elt;
    if (status >= 400 && status < 500 && source && source.closest && source.closest("[data-poll]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", confirmEmailVotes);
  } else {
    confirmEmailVotes();
  }
})();
