"""The demo covers: editorial compositions generated from the post's slug, the same picture for
the same slug every time, a different one for each post, and valid JPEGs of the asked size."""

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from posts.demo import POSTS, make_cover

pytestmark = pytest.mark.django_db


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_cover_is_a_jpeg_of_the_asked_size():
    image = picture(make_cover("trams-after-dark"))
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.size == (1600, 900)
    assert picture(make_cover("sam-okafor", size=(256, 256))).size == (256, 256)


def test_the_same_slug_gives_the_same_cover():
    assert make_cover("heat-pumps-and-the-grid") == make_cover("heat-pumps-and-the-grid")


def test_every_demo_post_gets_a_different_cover():
    covers = [make_cover(spec["slug"], size=(320, 180)) for spec in POSTS]
    assert len(set(covers)) == len(POSTS)
    # Different compositions, not the same picture with different noise: the pictures differ a
    # lot pixel by pixel.
    first, second = (picture(c).convert("L") for c in covers[:2])
    assert ImageStat.Stat(ImageChops.difference(first, second)).mean[0] > 20


def test_a_cover_is_a_composition_not_a_flat_wash():
    image = picture(make_cover("small-models-big-jobs")).convert("RGB")
    # Several distinct colours in quantity (ground, ink, spot colour), and strong contrast.
    colours = image.quantize(colors=8).getcolors()
    assert sum(1 for count, _ in colours if count > 0.03 * image.width * image.height) >= 3
    lightness = ImageStat.Stat(image.convert("L"))
    assert lightness.extrema[0][1] - lightness.extrema[0][0] > 120
