// Post pages: small progressive enhancements. Everything here also works without it.
(function () {
  "use strict";

  // "Copy link" is a plain link to the post; with the Clipboard API it copies instead.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-copy-link]");
    if (!link || !navigator.clipboard || !window.isSecureContext) {
      return;
    }
    event.preventDefault();
    var status = link.parentElement.querySelector(".copy-status");
    navigator.clipboard.writeText(link.href).then(
      function () {
        if (status) {
          status.textContent = "Link copied.";
        }
      },
      function () {
        if (status) {
          status.textContent = "Copy failed: press and hold the link to copy it.";
        }
      }
    );
  });
})();
