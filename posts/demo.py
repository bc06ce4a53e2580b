"""Demo posts for `manage.py seed_demo`, shaped like a typical Future Forward issue."""

import hashlib
import io
import random
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image, ImageChops, ImageDraw

from accounts.models import User
from posts.models import Post, Tag
from posts.services import store_body_image

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
<div class="callout"><p><strong>In short:</strong> revenue held, resignations and sick days
fell, and the firms that tried it were the ones most likely to succeed.</p></div>
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
        # An image inside the body, through the editor's own pipeline, before this heading.
        "figure": {
            "before": "<h2>Where it struggled</h2>",
            "alt": "Abstract shapes in warm colours, standing for a shorter working week",
            "caption": "Most firms that ran a pilot kept the shorter week.",
        },
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

# Editorial palettes: (ground, ink, accent), a duotone with one spot colour.
PALETTES = [
    ((238, 228, 210), (11, 63, 88), (226, 110, 60)),  # paper, petrol, vermilion
    ((20, 42, 52), (236, 226, 200), (240, 176, 64)),  # night, cream, amber
    ((226, 232, 220), (34, 82, 56), (205, 80, 90)),  # sage, forest, rose
    ((245, 222, 200), (88, 38, 92), (42, 150, 160)),  # blush, plum, teal
    ((30, 30, 46), (214, 208, 238), (235, 96, 70)),  # ink, lilac, coral
    ((236, 236, 230), (26, 26, 26), (0, 108, 180)),  # newsprint, black, blue
]


def _mix(a, b, t):
    return tuple(round(x * (1 - t) + y * t) for x, y in zip(a, b, strict=True))


def make_cover(key: str, size=(1600, 900)) -> bytes:
    """Return a JPEG cover for `key` (a post's slug): a layered geometric composition (a sun,
    banded stripes, concentric arcs, blocks and grain) in a palette picked by the key. The same
    key always gives the same picture; different keys give different ones."""
    digest = hashlib.sha256(key.encode()).digest()
    rng = random.Random(digest)  # noqa: S311 (decoration, not security)  # nosec
    ground, ink, accent = PALETTES[digest[0] % len(PALETTES)]
    width, height = size
    unit = min(width, height)

    # Ground: a faint diagonal wash from the ground colour towards the ink.
    wash = Image.linear_gradient("L").rotate(
        rng.choice([45, 135, 225, 315]), resample=Image.Resampling.BILINEAR, expand=True
    )
    middle = wash.width // 2
    image = wash.crop((middle - 90, middle - 90, middle + 90, middle + 90)).resize(size)
    image = Image.merge(
        "RGB",
        [
            image.point(lambda v, c=c, k=k: round(c + (k - c) * v / 255 * 0.18))
            for c, k in zip(ground, ink, strict=True)
        ],
    )

    def layer():
        return Image.new("RGBA", size, (0, 0, 0, 0))

    # A sun in the spot colour, partly off the edge.
    sun = layer()
    radius = int(unit * rng.uniform(0.32, 0.5))
    cx = int(width * rng.choice([0.2, 0.72, 0.85]))
    cy = int(height * rng.uniform(0.25, 0.7))
    ImageDraw.Draw(sun).ellipse(
        [cx - radius, cy - radius, cx + radius, cy + radius], fill=accent + (255,)
    )
    image = Image.alpha_composite(image.convert("RGBA"), sun)

    # Stripes in the ink, clipped to a band across the picture.
    stripes = layer()
    draw = ImageDraw.Draw(stripes)
    gap = int(unit * rng.uniform(0.025, 0.045))
    thickness = max(2, int(gap * rng.uniform(0.25, 0.5)))
    for x in range(-height, width + height, gap):
        draw.line([(x, height), (x + height, 0)], fill=ink + (255,), width=thickness)
    band = Image.new("L", size, 0)
    top = int(height * rng.uniform(0.45, 0.62))
    ImageDraw.Draw(band).rectangle(
        [0, top, width, top + int(height * rng.uniform(0.18, 0.3))], fill=230
    )
    stripes.putalpha(ImageChops.multiply(stripes.getchannel("A"), band))
    image = Image.alpha_composite(image, stripes)

    # Concentric arcs in the ink, around a point on the far side from the sun.
    arcs = layer()
    draw = ImageDraw.Draw(arcs)
    ax = width - cx + rng.randint(-unit // 6, unit // 6)
    ay = int(height * rng.choice([0.0, 1.0]))
    start = rng.choice([0, 90, 180, 270])
    for step in range(rng.randint(4, 7)):
        r = int(unit * (0.18 + step * 0.085))
        draw.arc(
            [ax - r, ay - r, ax + r, ay + r],
            start,
            start + 270,
            fill=ink + (200,),
            width=max(3, unit // 110),
        )
    image = Image.alpha_composite(image, arcs)

    # Two blocks: one solid ink, one the ground colour, overlapping the sun.
    blocks = layer()
    draw = ImageDraw.Draw(blocks)
    for colour, alpha in ((ink, 235), (ground, 255)):
        w, h = int(unit * rng.uniform(0.12, 0.3)), int(unit * rng.uniform(0.06, 0.16))
        x, y = cx + rng.randint(-radius, radius // 2), cy + rng.randint(-radius, radius // 2)
        draw.rectangle([x, y, x + w, y + h], fill=colour + (alpha,))
    image = Image.alpha_composite(image, blocks).convert("RGB")

    # Grain: seeded noise, so the picture stays the same for the same key.
    noise = Image.frombytes("L", size, rng.randbytes(width * height))
    grain = Image.merge(
        "RGB",
        [noise.point(lambda v, c=c: round(c * 0.5 + v * 0.5)) for c in _mix(ground, ink, 0.5)],
    )
    image = Image.blend(image, grain, 0.07)

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
            "sam-okafor.jpg", ContentFile(make_cover("sam-okafor", size=(256, 256))), save=False
        )
        author.save()
    return author


def with_figure(spec: dict) -> str:
    """Return the spec's body with its figure (an uploaded image and its caption) placed."""
    body = spec["body"].strip()
    figure = spec.get("figure")
    if not figure:
        return body
    upload = ContentFile(make_cover(f"{spec['slug']}-figure"), name="figure.jpg")
    image = store_body_image(upload=upload, uploaded_by=None)
    src = default_storage.url(image.largest()["name"])
    html = (
        f'<figure><img src="{src}" alt="{figure["alt"]}">'
        f"<figcaption>{figure['caption']}</figcaption></figure>\n"
    )
    return body.replace(figure["before"], html + figure["before"], 1)


def seed(*, editor) -> list[Post]:
    """Create the demo posts that do not exist yet; return all of them, newest first."""
    posts = []
    now = timezone.now()
    guest = seed_guest_author()
    for spec in POSTS:
        post = Post.objects.filter(slug=spec["slug"]).first()
        if post is None:
            post = Post(
                slug=spec["slug"],
                title=spec["title"],
                subtitle=spec["subtitle"],
                body=with_figure(spec) + "\n" + CTA,
                daily_takeaway=spec["takeaway"],
                status=Post.Status.PUBLISHED,
                published_at=now - timedelta(days=spec["days_ago"]),
                is_featured=spec["featured"],
                audience=Post.Audience.SUBSCRIBERS
                if spec.get("subscribers_only")
                else Post.Audience.EVERYONE,
                cover_alt=f"Abstract illustration for “{spec['title']}”",
                # Saving cleans the picture and makes its responsive copies.
                cover=ContentFile(make_cover(spec["slug"]), name=f"{spec['slug']}.jpg"),
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
