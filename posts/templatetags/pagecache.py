"""`{% personal "name" arg ... %}...{% endpersonal %}`: a part of a page that shows the reader's
own state (their name, their vote, their likes).

Rendered normally it is just its content. When the page is rendered once for every reader of
the same kind (posts/pagecache/readerpages.py), the content is wrapped in markers, so each
reader's copy can have that part rendered for them alone (posts/pagecache/slots.py).
"""

from django import template

from posts.pagecache import slots

register = template.Library()


class PersonalNode(template.Node):
    def __init__(self, name, args, nodelist):
        self.name, self.args, self.nodelist = name, args, nodelist

    def render(self, context):
        content = self.nodelist.render(context)
        request = context.get("request")
        if not slots.rendering_for_kind(request):
            return content
        name = self.name.resolve(context)
        args = ":".join(str(arg.resolve(context)) for arg in self.args)
        return slots.mark(request, name, args, content)


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
