from django.shortcuts import get_object_or_404, render

from posts.models import Post


def home(request):
    """The latest published posts."""
    posts = Post.objects.published().prefetch_related("authors")[:20]
    return render(request, "posts/post_list.html", {"posts": posts})


def detail(request, slug):
    """One post. Staff may preview drafts and scheduled posts at the real URL."""
    post = get_object_or_404(
        Post.objects.visible_to(request.user).prefetch_related("authors", "tags"), slug=slug
    )
    return render(request, "posts/post_detail.html", {"post": post})
