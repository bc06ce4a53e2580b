// Reader polls. Confirms an email vote link as soon as the page opens (the form posts itself;
// without JavaScript the reader taps "Confirm"; either way the answer page has no token), and
// keeps keyboard focus with the reader when a poll's answer replaces the form they used.
(function () {
  "use strict";
  if (window.futureForwardPolls) {
    return;
  }
  window.futureForwardPolls = true;

  // An email vote link's signed token must not stay in the address bar (a copied or shared URL
  // would vote as that reader) nor reach any Referer: take it out before anything else happens.
  function forgetVoteToken() {
    var url = new URL(window.location.href);
    if (!url.searchParams.has("vote")) {
      return;
    }
    url.searchParams.delete("vote");
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }
  forgetVoteToken();

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

  // The poll whose form was just answered, so focus can follow the reader into the new panel.
  var answeredPollId = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    var source = event.detail.elt;
    var poll = source && source.closest ? source.closest("[data-poll]") : null;
    if (!poll) {
      return;
    }
    answeredPollId = poll.id;
  });

  // The button the reader pressed is gone after the swap: move focus to the panel's message
  // (or its question) so keyboard and screen reader users land on the outcome.
  document.addEventListener("htmx:afterSettle", function () {
    if (!answeredPollId) {
      return;
    }
    var poll = document.getElementById(answeredPollId);
    answeredPollId = null;
    var landing = poll && (poll.querySelector(".poll-message") || poll.querySelector(".poll-question"));
    if (landing) {
      landing.focus();
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", confirmEmailVotes);
  } else {
    confirmEmailVotes();
  }
})();
