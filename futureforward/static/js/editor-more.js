// The rich-text editor's "continue reading" divider: <hr class="more">, where the opening of a
// post ends (the subscribers-only gate and teaser emails cut there). Loaded by the editor's
// configurable preset as a module (settings.DJANGO_PROSE_EDITOR_EXTENSIONS).
//
// Without this node the editor would read the divider as a plain horizontal rule and drop its
// class on the next save; with it, the divider survives editing and has its own toolbar button.
import { Node, mergeAttributes } from "django-prose-editor/editor"

export const MoreDivider = Node.create({
  name: "moreDivider",
  group: "block",
  atom: true,
  selectable: true,
  draggable: true,

  parseHTML() {
    // Ahead of the horizontal rule's own rule (priority 50), which would take it otherwise.
    return [{ tag: "hr.more", priority: 60 }]
  },

  renderHTML({ HTMLAttributes }) {
    return ["hr", mergeAttributes(HTMLAttributes, { class: "more" })]
  },

  addCommands() {
    return {
      insertMoreDivider:
        () =>
        ({ commands }) =>
          commands.insertContent({ type: this.name }),
    }
  },

  addMenuItems({ buttons, menu }) {
    menu.defineItem({
      name: "moreDivider",
      groups: "nodes",
      command(editor) {
        editor.chain().focus().insertMoreDivider().run()
      },
      button: buttons.material("read_more", "continue reading divider"),
      enabled: (editor) => editor.can().insertMoreDivider(),
      active: (editor) => editor.isActive("moreDivider"),
    })
  },
})
