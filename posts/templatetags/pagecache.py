"""`{% personal "name" arg ... %}...{% endpersonal %}`: a part of a page that shows the reader's
own state (their name, their vote, their likes).

Rendered normally it is just its content. When the page is rendered once for every reader of
the same kind (posts/pagecache.py, "pages for logged-in readers"), the content is wrapped in
markers, so each reader's copy can have that part rendered for them alone.
"""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()


class PersonalNode(template.Node):
    def __init__(self, name, args, nodelist):
        self.name, self.args, self.nodelist = name, args, nodelist

    def render(self, context):
        content = self.nodelist.render(context)
        request = context.get("request")
        if not getattr(request, "_page_stand_in", None):
            return content
        name = self.name.resolve(context)
        args = ":".join(str(arg.resolve(context)) for arg in self.args)
        # Only our own markup goes around content that the templates already made safe.
        return mark_safe(f"<!--ff-slot:{name}:{args}-->{content}<!--/ff-slot:{name}:{args}-->")  # noqa: S308  # nosec


@register.tag
def personal(parser, token):
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("{% personal %} needs a name")
    nodelist = parser.parse(("endpersonal",))
    parser.delete_first_token()
    return PersonalNode(
        parser.compile_filter(bits[1]), [parser.compile_filter(bit) for bit in bits[2:]], nodelist
    )
