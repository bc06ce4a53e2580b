// Django's two-box chooser (filter_horizontal) puts an aria-label on a plain <span> (the
// magnifier beside "Filter"), which assistive technology ignores and axe reports as a
// prohibited attribute. Once the chooser is built (on the window's load), give the icon the
// image role its label needs.
window.addEventListener("load", () => {
  setTimeout(() => {
    for (const icon of document.querySelectorAll("span.search-label-icon[aria-label]")) {
      icon.setAttribute("role", "img")
    }
  })
})
