"""Demo posts for `manage.py seed_demo`, shaped like a typical Future Forward issue."""

import io
import random
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import User
from posts.models import Post, Tag

TAG_DESCRIPTIONS = {
    "Work": "How, where and how long we work, and what the evidence says about changing it.",
    "Economy": "Prices, productivity and the money behind the trends.",
    "Energy": "Power grids, heating and the transition away from fossil fuels.",
    "Cities": "Streets, housing and the places we share.",
    "Technology": "Tools that change everyday life, judged on what they actually do.",
    "AI": "Machine learning without the hype: what works, what doesn't, and for whom.",
}

GUEST_AUTHOR = {
    "email": "sam.okafor@futureforward.example",
    "display_name": "Sam Okafor",
    "bio": "Contributing writer. Covers energy and cities; previously a transport planner.",
}

CTA = (
    "<p><strong>What do you think?</strong> Share your views in the comments below, give this "
    "post a thumbs up if it made you think, and pass it on to someone who would enjoy it. "
    "Not a subscriber yet? Subscribe to get the next issue in your inbox.</p>"
)

POSTS = [
    {
        "slug": "four-day-week-after-the-pilots",
        "title": "The Four-Day Week After the Pilots",
        "subtitle": "The trials are over. What the data says, and what it leaves out.",
        "tags": ["Work", "Economy"],
        "featured": True,
        "days_ago": 1,
        "body": """
<p>For three years, companies on several continents ran the same experiment: keep pay and
targets, drop a working day. The reports are in, and most firms that tried it kept it. That is
the headline. The more interesting story is in who did not.</p>
<h2>What the pilots measured</h2>
<p>Most trials tracked revenue, staff turnover, sick days and self-reported burnout. Revenue held
roughly steady in the majority of firms, while resignations and sick days fell. Burnout scores
improved the most in the first three months and then levelled off.</p>
<p>Those are real gains, but they come from volunteers: companies that expected the change to
work and teams that wanted it. Selection does a lot of quiet work in results like these.</p>
<h2>Where it struggled</h2>
<p>Shift-based services found the arithmetic harder. A clinic or a warehouse cannot compress
meetings it never had; covering the fifth day means hiring, and hiring means cost. Several
firms in these sectors moved to a shorter week on a rota instead, which keeps the benefit for
staff while the doors stay open.</p>
<h3>The meeting tax</h3>
<p>Office teams that succeeded almost all cut meetings first. Fewer standing meetings, shorter
default slots and written updates freed more hours than any productivity tool.</p>
<h2>What to watch next</h2>
<p>The next test is scale. A four-day week chosen by enthusiasts is different from one set by
collective agreement across an industry. Watch the sectors where unions are negotiating it now:
their results will tell us whether the gains survive contact with everyone.</p>
""",
        "takeaway": "The four-day week works best where work is measured by output, not hours, "
        "and where meetings are cut before days are.",
    },
    {
        "slug": "heat-pumps-and-the-grid",
        "title": "Heat Pumps Are Winning. Can the Grid Keep Up?",
        "subtitle": "Electrifying heat moves the peak from summer afternoons to winter evenings.",
        "tags": ["Energy", "Cities"],
        "featured": False,
        "guest": True,
        "days_ago": 3,
        "body": """
<p>Heat pump sales have overtaken gas boilers in a growing list of countries. Each one cuts a
home's heating emissions sharply. Together, they change when a power grid is under strain.</p>
<h2>A new peak</h2>
<p>Grids were built around summer air conditioning and early-evening cooking. Electric heating
adds a long, cold-weather peak that lasts for days when a high-pressure system parks itself over
a region and the wind drops.</p>
<h2>Three ways through</h2>
<h3>Insulate first</h3>
<p>A well-insulated home needs a smaller pump and draws less at the worst moment. Insulation is
the cheapest grid upgrade there is, and it is installed one loft at a time.</p>
<h3>Shift the load</h3>
<p>Homes can pre-heat in the afternoon and coast through the evening peak. Smart tariffs already
pay people to do this; the hard part is making it automatic and invisible.</p>
<h3>Build the wires</h3>
<p>Local substations are the real bottleneck. Upgrading them is slow and unglamorous, which is
exactly why it tends to be left too late.</p>
""",
        "takeaway": "Heat pumps cut emissions today; insulation and smarter timing decide how "
        "much grid we need to build for them tomorrow.",
    },
    {
        "slug": "small-models-big-jobs",
        "title": "Small Models, Big Jobs",
        "subtitle": "Why the most useful AI of the next few years may run on your own laptop.",
        "tags": ["Technology", "AI"],
        "featured": False,
        "days_ago": 6,
        "body": """
<p>The race for ever larger language models continues, but a quieter trend matters as much to
everyday users: small models, tuned for one job, running on ordinary hardware.</p>
<h2>Why small is catching up</h2>
<p>Better training data and distillation let a compact model match a much larger one on narrow
tasks such as summarising a document, tagging support tickets or drafting a reply. For those
tasks, the giant model's extra knowledge is unused weight.</p>
<h2>What changes for users</h2>
<p>A model on your own device answers without a network round trip and without sending your
words to anyone. For doctors' notes, legal drafts and personal journals, that is not a detail;
it decides whether the tool can be used at all.</p>
<h2>The catch</h2>
<p>Small models are brittle outside their lane. The skill that matters is knowing which job
needs which model, and testing them on your own work rather than trusting a leaderboard.</p>
""",
        "takeaway": "Pick the smallest model that does the job well; your privacy and your "
        "budget both benefit.",
    },
    {
        "slug": "the-fifteen-minute-city-debate",
        "title": "The Fifteen-Minute City, Without the Shouting",
        "subtitle": "An old planning idea became a culture-war slogan. Here is what it means.",
        "tags": ["Cities"],
        "featured": False,
        "guest": True,
        "subscribers_only": True,
        "days_ago": 9,
        "body": """
<p>The idea is simple: daily needs such as a grocer, a school, a clinic and a park should be a
short walk or ride from home. The argument about it has been anything but.</p>
<h2>What it is, and is not</h2>
<p>It is a planning goal about where things are built. It is not a rule about where people may
go. Most older neighbourhoods already work this way because they were built before cars.</p>
<h2>Where it works</h2>
<p>Mixed-use zoning, corner shops allowed on residential streets and safe routes for bikes are
the usual tools. They are slow, local and rarely dramatic.</p>
<h2>Fair criticism</h2>
<p>Critics are right that improving a neighbourhood can price out the people who live there.
Any plan that adds amenities without protecting affordable homes repeats an old mistake.</p>
""",
        "takeaway": "Judge a neighbourhood plan by what it lets people reach on foot, and by "
        "who can still afford to live there afterwards.",
    },
]

PALETTES = [
    ((11, 79, 108), (242, 166, 90)),
    ((30, 107, 52), (238, 231, 178)),
    ((84, 40, 120), (120, 200, 230)),
    ((160, 50, 40), (250, 220, 160)),
]


def make_cover(seed: int, size=(1600, 900)) -> bytes:
    """Return a JPEG cover: a gradient with a few soft shapes, different for every seed."""
    rng = random.Random(seed)  # noqa: S311 (decoration, not security)  # nosec
    top, bottom = PALETTES[seed % len(PALETTES)]
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        colour = tuple(int(top[i] * (1 - t) + bottom[i] * t) for i in range(3))
        draw.line([(0, y), (width, y)], fill=colour)
    for _ in range(6):
        r = rng.randint(80, 320)
        x, y = rng.randint(0, width), rng.randint(0, height)
        shade = tuple(min(255, c + 40) for c in bottom)
        draw.ellipse([x - r, y - r, x + r, y + r], outline=shade, width=6)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def seed_guest_author() -> User:
    """Return a second staff author (no password: they never log in), creating it once."""
    author = User.objects.filter(email=GUEST_AUTHOR["email"]).first()
    if author is None:
        author = User(
            email=GUEST_AUTHOR["email"],
            display_name=GUEST_AUTHOR["display_name"],
            bio=GUEST_AUTHOR["bio"],
            is_staff=True,
        )
        author.set_unusable_password()
        author.avatar.save(
            "sam-okafor.jpg", ContentFile(make_cover(7, size=(256, 256))), save=False
        )
        author.save()
    return author


def seed(*, editor) -> list[Post]:
    """Create the demo posts that do not exist yet; return all of them, newest first."""
    posts = []
    now = timezone.now()
    guest = seed_guest_author()
    for index, spec in enumerate(POSTS):
        post = Post.objects.filter(slug=spec["slug"]).first()
        if post is None:
            post = Post(
                slug=spec["slug"],
                title=spec["title"],
                subtitle=spec["subtitle"],
                body=spec["body"].strip() + "\n" + CTA,
                daily_takeaway=spec["takeaway"],
                status=Post.Status.PUBLISHED,
                published_at=now - timedelta(days=spec["days_ago"]),
                is_featured=spec["featured"],
                audience=Post.Audience.SUBSCRIBERS
                if spec.get("subscribers_only")
                else Post.Audience.EVERYONE,
                cover_alt=f"Abstract illustration for “{spec['title']}”",
                # Saving cleans the picture and makes its responsive copies.
                cover=ContentFile(make_cover(index), name=f"{spec['slug']}.jpg"),
            )
            post.save()
            post.authors.add(editor)
            if spec.get("guest"):
                post.authors.add(guest)
            for name in spec["tags"]:
                tag, _ = Tag.objects.get_or_create(
                    slug=name.lower().replace(" ", "-"),
                    defaults={"name": name, "description": TAG_DESCRIPTIONS.get(name, "")},
                )
                post.tags.add(tag)
        posts.append(post)
    return posts
