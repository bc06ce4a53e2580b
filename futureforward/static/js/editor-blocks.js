// The body editor's blocks: images (uploaded, pasted or dropped), the call-to-action button, the
// callout and the poll's place. Loaded by the editor's configurable preset as a module
// (settings.DJANGO_PROSE_EDITOR_EXTENSIONS); posts/richtext.py's sanitiser decides what is kept.
//
// Images only ever come from our upload endpoint: a pasted or dropped image file, or a picture
// carried inside pasted HTML as a data: address, is uploaded like one chosen with the toolbar
// button; a picture that lives on another site (Word's temporary files, Google Docs, a web
// page) is left out with a notice. The server would drop it anyway; fetching it ourselves
// would make our server request any address an editor pastes.
import {
  Node,
  Plugin,
  gettext,
  mergeAttributes,
  updateAttrsDialog,
} from "django-prose-editor/editor"

// Our renditions: /media/body/<key>-<token>-<width>w.webp (posts/images.py).
const OUR_IMAGE = /\/body\/[0-9a-f]{16}-[^/]*$/
const isOurs = (src) => OUR_IMAGE.test((src || "").split(/[?#]/)[0])
const BUTTON_URL = /^(https?:\/\/[^\s]+|mailto:[^\s]+)$/i

// A line above the editor: what went wrong, or what is happening (uploading).
function notify(editor, text, kind = "error") {
  const host = editor.view.dom.closest(".prose-editor")
  if (!host) return
  let box = host.parentElement.querySelector(":scope > .ff-editor-notice")
  if (!box) {
    box = document.createElement("p")
    box.className = "ff-editor-notice"
    box.setAttribute("role", "alert")
    host.before(box)
  }
  box.textContent = text
  box.dataset.kind = kind
  box.hidden = !text
}

const csrfToken = () =>
  document.querySelector("input[name=csrfmiddlewaretoken]")?.value || ""

async function uploadImage(editor, file, url) {
  const body = new FormData()
  body.append("image", file)
  notify(editor, gettext("Uploading %s …").replace("%s", file.name || "image"), "info")
  let response
  try {
    response = await fetch(url, {
      method: "POST",
      body,
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
    })
  } catch (_error) {
    notify(editor, gettext("The image could not be uploaded: the connection failed. Try again."))
    return null
  }
  if (response.redirected) {
    // The admin sent us to its login page: the session has ended.
    notify(
      editor,
      gettext(
        "The image could not be uploaded: you have been logged out. Log in again in another " +
          "tab (this page keeps what you wrote), then add the image again.",
      ),
    )
    return null
  }
  let data = {}
  try {
    data = await response.json()
  } catch (_error) {
    // Not our JSON (a proxy's error page, a login page): say what we know.
  }
  if (!response.ok || !data.src) {
    notify(
      editor,
      data.error ||
        gettext("The image could not be uploaded (error %s). Try again.").replace(
          "%s",
          response.status,
        ),
    )
    return null
  }
  notify(editor, "")
  return data
}

// A data: address as a File, decoded here (the page's policy lets fetch() reach our own
// origin only); null for anything that is not a base64 picture.
function fileFromDataUrl(src) {
  const match = /^data:(image\/[a-z+.-]+);base64,([a-z0-9+/=\s]+)$/i.exec(src || "")
  if (!match) return null
  try {
    const bytes = Uint8Array.from(atob(match[2].replace(/\s/g, "")), (c) => c.charCodeAt(0))
    return new File([bytes], `pasted.${match[1].split("/")[1]}`, { type: match[1] })
  } catch (_error) {
    return null
  }
}

const figureDialog = updateAttrsDialog(
  {
    alt: {
      type: "string",
      title: gettext("Alt text (required)"),
      description: gettext(
        "Describe the image for readers who cannot see it: what it shows and why it is here.",
      ),
      required: true,
    },
    caption: { type: "string", title: gettext("Caption (optional)") },
  },
  { title: gettext("Image"), submitText: gettext("Save image") },
)

// Ask for alt text until it is given, or the editor cancels (then: null).
async function askFigure(editor, attrs) {
  const answer = await figureDialog(editor, attrs)
  if (!answer) return null
  const alt = answer.alt.trim()
  if (!alt) return askFigure(editor, answer)
  return { alt, caption: answer.caption.trim() }
}

async function addImages(editor, files, url, pos = null) {
  for (const file of files) {
    const uploaded = await uploadImage(editor, file, url)
    if (!uploaded) return
    const text = await askFigure(editor, { alt: "", caption: "" })
    if (!text) {
      notify(editor, gettext("The image was not added: an image needs alt text."))
      return
    }
    const node = {
      type: "bodyFigure",
      attrs: { ...text, src: uploaded.src, width: uploaded.width, height: uploaded.height },
    }
    // Next to a selected block (the image just added, say), not in its place.
    // (A drop's place may have moved on while the image uploaded: keep it inside the text.)
    const { selection, doc } = editor.state
    const at =
      pos != null ? Math.min(pos, doc.content.size) : selection.node ? selection.to : null
    const chain = editor.chain().focus()
    ;(at == null ? chain.insertContent(node) : chain.insertContentAt(at, node)).run()
    pos = null
  }
}

function chooseImages(editor, url) {
  const input = document.createElement("input")
  input.type = "file"
  input.accept = "image/jpeg,image/png,image/webp"
  input.multiple = true
  input.hidden = true
  input.className = "ff-editor-file"
  input.addEventListener("cancel", () => input.remove())
  input.addEventListener("change", () => {
    const files = [...input.files]
    input.remove()
    if (files.length) addImages(editor, files, url)
  })
  editor.view.dom.closest(".prose-editor").append(input)
  input.click()
}

function editFigure(editor, pos, node) {
  askFigure(editor, { alt: node.attrs.alt, caption: node.attrs.caption }).then((text) => {
    if (text) {
      editor.chain().setNodeSelection(pos).updateAttributes("bodyFigure", text).run()
    }
  })
}

function selectedNode(editor, name) {
  const { node, from } = editor.state.selection
  return node?.type.name === name ? { node, pos: from } : null
}

function figureAttrs(img, figure = null) {
  const src = img.getAttribute("src")
  if (!isOurs(src)) return false
  const caption = figure?.querySelector("figcaption")
  return {
    src,
    alt: img.getAttribute("alt") || "",
    width: img.getAttribute("width"),
    height: img.getAttribute("height"),
    caption: caption ? caption.textContent.trim() : "",
  }
}

export const BodyFigure = Node.create({
  name: "bodyFigure",
  group: "block",
  atom: true,
  draggable: true,
  selectable: true,

  addOptions() {
    return { uploadUrl: null }
  },

  addAttributes() {
    return {
      src: { default: null },
      alt: { default: "" },
      width: { default: null },
      height: { default: null },
      caption: { default: "" },
    }
  },

  parseHTML() {
    return [
      {
        tag: "figure",
        priority: 60,
        getAttrs: (figure) => {
          const img = figure.querySelector("img")
          return img ? figureAttrs(img, figure) : false
        },
      },
      { tag: "img[src]", priority: 60, getAttrs: (img) => figureAttrs(img) },
    ]
  },

  renderHTML({ node }) {
    const { src, alt, width, height, caption } = node.attrs
    const img = ["img", { src, alt, width, height }]
    return caption
      ? ["figure", {}, img, ["figcaption", {}, caption]]
      : ["figure", {}, img]
  },

  addCommands() {
    return {
      addBodyImage:
        () =>
        ({ editor }) => {
          const selected = selectedNode(editor, this.name)
          if (selected) editFigure(editor, selected.pos, selected.node)
          else chooseImages(editor, this.options.uploadUrl)
          return true
        },
    }
  },

  addProseMirrorPlugins() {
    const extension = this
    const editor = this.editor
    const url = this.options.uploadUrl
    return [
      // The editable area takes its name from the field's label, as the textarea it stands
      // in for did: screen readers announce "Body, edit text", not just "edit text".
      new Plugin({
        view(view) {
          let box = view.dom.parentElement
          while (box && !box.querySelector("textarea")) box = box.parentElement
          const field = box && box.querySelector("textarea")
          const label = field && field.id && document.querySelector(`label[for="${field.id}"]`)
          if (label) {
            label.id = label.id || `${field.id}-label`
            view.dom.setAttribute("aria-labelledby", label.id)
          } else {
            view.dom.setAttribute("aria-label", gettext("Body"))
          }
          return {}
        },
      }),
      new Plugin({
        props: {
          handlePaste(_view, event) {
            const data = event.clipboardData
            if (!data) return false
            const files = [...data.files]
            const html = data.getData("text/html")
            const doc = html ? new DOMParser().parseFromString(html, "text/html") : null
            const words = doc ? doc.body.textContent.trim() : data.getData("text/plain").trim()
            if (files.length && !words) {
              // An image on its own (a screenshot, a copied picture): upload it.
              event.preventDefault()
              addImages(editor, files, url)
              return true
            }
            const images = doc ? [...doc.images].filter((img) => !isOurs(img.src)) : []
            // Pictures carried inside the pasted HTML itself (data: addresses) are uploaded
            // after the words are in; pictures that live on another site are left out.
            const carried = images.map((img) => fileFromDataUrl(img.src)).filter(Boolean)
            const foreign = images.length - carried.length
            if (carried.length) setTimeout(() => addImages(editor, carried, url))
            if (foreign) {
              notify(
                editor,
                gettext(
                  "%s pasted image(s) were left out: a post only shows images uploaded here. " +
                    "Save them from the original and add them with the image button, " +
                    "or paste or drop them one at a time.",
                ).replace("%s", foreign),
                "info",
              )
            }
            return false
          },
          handleDrop(view, event, _slice, moved) {
            const files = [...(event.dataTransfer?.files || [])]
            if (moved || !files.length) return false
            event.preventDefault()
            const at = view.posAtCoords({ left: event.clientX, top: event.clientY })
            addImages(editor, files, url, at ? at.pos : null)
            return true
          },
          handleDoubleClickOn(_view, pos, node) {
            if (node.type.name === extension.name) {
              editFigure(editor, pos, node)
              return true
            }
            if (node.type.name === "callToAction") {
              editButton(editor, pos, node)
              return true
            }
            return false
          },
        },
      }),
    ]
  },

  addMenuItems({ buttons, menu }) {
    menu.defineItem({
      name: "bodyFigure",
      groups: "nodes",
      command(editor) {
        editor.chain().addBodyImage().run()
      },
      button: buttons.material("image", gettext("image (or paste or drop one)")),
      active: (editor) => editor.isActive("bodyFigure"),
    })
  },
})

const buttonDialog = updateAttrsDialog(
  {
    label: { type: "string", title: gettext("Button text"), required: true },
    href: {
      type: "string",
      title: gettext("Address"),
      description: gettext("Starts with https://, http:// or mailto:"),
      required: true,
    },
  },
  { title: gettext("Button"), submitText: gettext("Save button") },
)

async function askButton(editor, attrs) {
  const answer = await buttonDialog(editor, attrs)
  if (!answer) return null
  const label = answer.label.trim()
  const href = answer.href.trim()
  if (!label || !BUTTON_URL.test(href)) {
    notify(
      editor,
      gettext("A button needs its text and an address starting with https://, http:// or mailto:."),
    )
    return askButton(editor, { label, href })
  }
  notify(editor, "")
  return { label, href }
}

function editButton(editor, pos, node) {
  askButton(editor, node.attrs).then((attrs) => {
    if (attrs) editor.chain().setNodeSelection(pos).updateAttributes("callToAction", attrs).run()
  })
}

export const CallToAction = Node.create({
  name: "callToAction",
  group: "block",
  atom: true,
  draggable: true,
  selectable: true,

  addAttributes() {
    return { href: { default: "" }, label: { default: "" } }
  },

  parseHTML() {
    return [
      {
        tag: "p.cta",
        priority: 60,
        getAttrs: (p) => {
          const a = p.querySelector("a")
          return a ? { href: a.getAttribute("href") || "", label: a.textContent.trim() } : false
        },
      },
    ]
  },

  renderHTML({ node }) {
    return ["p", { class: "cta" }, ["a", { class: "button", href: node.attrs.href }, node.attrs.label]]
  },

  addCommands() {
    return {
      addCallToAction:
        () =>
        ({ editor }) => {
          const selected = selectedNode(editor, this.name)
          if (selected) {
            editButton(editor, selected.pos, selected.node)
            return true
          }
          askButton(editor, { label: "", href: "https://" }).then((attrs) => {
            if (attrs) editor.chain().focus().insertContent({ type: this.name, attrs }).run()
          })
          return true
        },
    }
  },

  addMenuItems({ buttons, menu }) {
    menu.defineItem({
      name: "callToAction",
      groups: "nodes",
      command(editor) {
        editor.chain().addCallToAction().run()
      },
      button: buttons.material("smart_button", gettext("button")),
      active: (editor) => editor.isActive("callToAction"),
    })
  },
})

export const Callout = Node.create({
  name: "callout",
  group: "block",
  content: "block+",
  defining: true,

  parseHTML() {
    return [{ tag: "div.callout", priority: 60 }]
  },

  renderHTML({ HTMLAttributes }) {
    return ["div", mergeAttributes(HTMLAttributes, { class: "callout" }), 0]
  },

  addCommands() {
    return {
      toggleCallout:
        () =>
        ({ commands }) =>
          commands.toggleWrap(this.name),
    }
  },

  addMenuItems({ buttons, menu }) {
    menu.defineItem({
      name: "callout",
      groups: "nodes",
      command(editor) {
        editor.chain().focus().toggleCallout().run()
      },
      button: buttons.material("lightbulb", gettext("callout (a highlighted box)")),
      enabled: (editor) => editor.can().toggleCallout(),
      active: (editor) => editor.isActive("callout"),
    })
  },
})

const hasPollSlot = (doc) => {
  let found = false
  doc.descendants((node) => {
    if (node.type.name === "pollSlot") found = true
    return !found
  })
  return found
}

export const PollSlot = Node.create({
  name: "pollSlot",
  group: "block",
  atom: true,
  draggable: true,
  selectable: true,

  parseHTML() {
    return [{ tag: "div.poll-slot", priority: 60 }]
  },

  renderHTML() {
    return ["div", { class: "poll-slot" }]
  },

  addCommands() {
    return {
      insertPollSlot:
        () =>
        ({ state, commands }) =>
          !hasPollSlot(state.doc) && commands.insertContent({ type: this.name }),
    }
  },

  addMenuItems({ buttons, menu }) {
    menu.defineItem({
      name: "pollSlot",
      groups: "nodes",
      command(editor) {
        editor.chain().focus().insertPollSlot().run()
      },
      button: buttons.material("poll", gettext("the poll's place (one per post)")),
      enabled: (editor) => editor.can().insertPollSlot(),
      active: (editor) => editor.isActive("pollSlot"),
    })
  },
})

// Before the form is sent: every image has alt text, or the form stays here and says which.
document.addEventListener("prose-editor:ready", (event) => {
  const { editor, textarea } = event.detail
  if (!editor.schema.nodes.bodyFigure) return
  textarea.form?.addEventListener("submit", (submit) => {
    let missing = 0
    editor.state.doc.descendants((node) => {
      if (node.type.name === "bodyFigure" && !node.attrs.alt.trim()) missing += 1
    })
    if (!missing) return
    submit.preventDefault()
    notify(
      editor,
      gettext(
        "Not saved: %s image(s) have no alt text. Double-click each image marked in red (or " +
          "select it and press the image button) and describe it for readers who cannot see it.",
      ).replace("%s", missing),
    )
    editor.view.dom.closest(".prose-editor").scrollIntoView({ block: "start" })
  })
})
