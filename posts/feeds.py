from django.conf import settings
from django.contrib.syndication.views import Feed
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from posts.models import Post
from publication.models import Publication

FEED_ITEMS = 20


class LatestPostsFeed(Feed):
    """RSS 2.0: the latest posts in full. Subscribers-only posts show their opening and a link."""

    def title(self):
        return Publication.objects.current().name

    def description(self):
        publication = Publication.objects.current()
        return publication.description or publication.tagline

    def link(self):
        return f"{settings.SITE_URL}/"

    def feed_url(self):
        return f"{settings.SITE_URL}{reverse('posts:feed-rss')}"

    def items(self):
        return Post.objects.published().for_cards()[:FEED_ITEMS]

    def item_title(self, item):
        return item.title

    def item_link(self, item):
        return f"{settings.SITE_URL}{item.get_absolute_url()}"

    def item_guid(self, item):
        # Stable even if a slug is corrected after publication.
        return f"{settings.SITE_URL}/posts/{item.pk}"

    item_guid_is_permalink = False

    def item_description(self, item):
        return render_to_string(
            "posts/feed_item.html",
            {
                "post": item,
                "url": self.item_link(item),
                "SITE_NAME": Publication.objects.current().name,
            },
        )

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_author_name(self, item):
        return ", ".join(author.public_name for author in item.author_list) or None

    def item_categories(self, item):
        return [tag.name for tag in item.tags.all()]


class AtomPostsFeed(LatestPostsFeed):
    """The same feed as Atom 1.0."""

    feed_type = Atom1Feed

    def subtitle(self):
        return self.description()

    def feed_url(self):
        return f"{settings.SITE_URL}{reverse('posts:feed-atom')}"
