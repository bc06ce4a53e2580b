// Autosave on the post's edit page: a few seconds after the editor stops typing, and when the
// page is hidden, the title, subtitle and body go to the post's autosave address, which keeps
// them as the editor's draft copy (the post itself, and what readers see, change only on Save).
// An enhancement: without this script the form and its Save work as before.
(function () {
  "use strict"

  const DELAY_MS = 3000
  const RETRY_MS = 10000
  const FIELDS = ["title", "subtitle", "body", "base_version"]

  function start() {
    const status = document.getElementById("ff-autosave")
    const form = document.getElementById("post_form")
    if (!status || !form) return
    const url = status.dataset.url
    let timer = null
    let dirty = false
    let sending = false
    let stopped = false

    function payload() {
      const data = new FormData()
      const token = form.querySelector("input[name=csrfmiddlewaretoken]")
      if (token) data.append("csrfmiddlewaretoken", token.value)
      for (const name of FIELDS) {
        const field = form.elements.namedItem(name)
        if (field) data.append(name, field.value)
      }
      return data
    }

    function show(text, state) {
      status.textContent = text
      status.dataset.state = state
    }

    function schedule(delay) {
      clearTimeout(timer)
      timer = setTimeout(save, delay)
    }

    // The time of the save in the editor's own time zone (the server's as a fallback).
    function localTime(iso) {
      const when = iso ? new Date(iso) : null
      if (!when || Number.isNaN(when.getTime())) return ""
      return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    }

    async function save() {
      if (!dirty || sending || stopped) return
      sending = true
      dirty = false
      try {
        const response = await fetch(url, {
          method: "POST",
          body: payload(),
          credentials: "same-origin",
          headers: { "X-Requested-With": "fetch" },
        })
        const answer = await response.json().catch(() => ({}))
        if (response.ok && answer.saved) {
          show(`${status.dataset.saved} ${localTime(answer.saved_at_iso) || answer.saved_at}`, "saved")
        } else if (response.redirected) {
          // Sent to the login page: the session ended. Keep trying; a login elsewhere helps.
          dirty = true
          show(status.dataset.loggedOut, "retrying")
          schedule(RETRY_MS)
        } else if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          // Retrying cannot help: someone else saved, the post is gone, or the text cannot be
          // kept as it is (a 400 may pass once the editor shortens it, so typing tries again).
          stopped = response.status !== 400
          show(`${status.dataset.failed}: ${answer.error || response.statusText}`, "failed")
        } else {
          throw new Error(String(response.status))
        }
      } catch (error) {
        dirty = true
        show(status.dataset.retrying, "retrying")
        schedule(RETRY_MS)
      } finally {
        sending = false
        if (dirty && status.dataset.state !== "retrying") schedule(DELAY_MS)
      }
    }

    function changed(event) {
      const name = event.target && event.target.name
      if (!FIELDS.includes(name)) return
      dirty = true
      schedule(DELAY_MS)
    }

    form.addEventListener("input", changed)
    form.addEventListener("submit", () => {
      // The real save replaces the draft copy; a late autosave must not race it.
      stopped = true
      clearTimeout(timer)
    })
    // Leaving or hiding the page: hand the last words to the browser to deliver.
    function flush() {
      if (dirty && !stopped && navigator.sendBeacon) {
        clearTimeout(timer)
        dirty = !navigator.sendBeacon(url, payload())
      }
    }
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") flush()
    })
    window.addEventListener("pagehide", flush)
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start)
  } else {
    start()
  }
})()
