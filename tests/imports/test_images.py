"""Fetching imported posts' images: from a real local HTTP server, into our image pipeline;
and the address guard refusing private, loopback and link-local addresses outside tests."""

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from imports.models import RemoteImage
from posts import remote
from posts.models import BodyImage, Post
from tests.imports.exports import ghost_export, ghost_post

pytestmark = pytest.mark.django_db


def _png(width=640, height=400) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


class _Handler(BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        status, headers, body = self.routes.get(self.path, (404, {}, b"missing"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def image_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.routes = {
        "/map.png": (200, {"Content-Type": "image/png"}, _png()),
        "/cover.png": (200, {"Content-Type": "image/png"}, _png(1200, 800)),
        "/page.html": (200, {"Content-Type": "text/html"}, b"<html>not an image</html>"),
        "/fake.png": (200, {"Content-Type": "image/png"}, b"GIF89a but not really"),
        "/moved.png": (302, {"Location": "/map.png"}, b""),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def local_fetch(settings):
    settings.IMPORTS_FETCH_ALLOW_LOOPBACK = True
    settings.IMPORTS_FETCH_TIMEOUT_SECONDS = 2


def _import_with_images(import_file, run, base, *names):
    body = "<p>Before.</p>" + "".join(
        f'<figure><img src="{base}/{name}" alt="Picture {name}"></figure>' for name in names
    )
    data = ghost_export(
        posts=[
            ghost_post("p1", "pictures", "Pictures", html=body, feature_image=f"{base}/cover.png")
        ]
    )
    return run(import_file("ghost", data))


def test_fetching_puts_the_images_in_our_pipeline_and_the_body(
    import_file, run, image_server, local_fetch, django_capture_on_commit_callbacks, client
):
    from imports.services import start_fetching_images

    job = _import_with_images(import_file, run, image_server, "map.png", "moved.png")
    assert job.images.count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert start_fetching_images(job=job)

    assert set(job.images.values_list("status", flat=True)) == {"fetched"}
    post = Post.objects.get(slug="pictures")
    assert BodyImage.objects.count() == 2
    key = BodyImage.objects.first().key
    assert f"/body/{key}-" in post.body and 'srcset="' in post.body
    assert 'alt="Picture map.png"' in post.body
    assert image_server not in post.body  # nothing is shown from the old host any more
    assert post.cover and post.cover_renditions and post.cover_alt == "Pictures"
    page = client.get("/p/pictures/").content.decode()
    assert f"/body/{key}-" in page


def test_what_is_not_an_image_is_refused_and_said(
    import_file, run, image_server, local_fetch, django_capture_on_commit_callbacks
):
    from imports.services import start_fetching_images

    job = _import_with_images(import_file, run, image_server, "page.html", "fake.png", "gone.png")
    with django_capture_on_commit_callbacks(execute=True):
        start_fetching_images(job=job)

    errors = dict(job.images.filter(role="body").values_list("url", "error"))
    assert "text/html, not an image" in errors[f"{image_server}/page.html"]
    assert errors[f"{image_server}/fake.png"]  # Pillow's check, in words
    assert "answered 404" in errors[f"{image_server}/gone.png"]
    post = Post.objects.get(slug="pictures")
    assert "Image: Picture page.html" in post.body  # the link stays until an image arrives
    assert BodyImage.objects.count() == 0


def test_an_image_larger_than_the_limit_is_abandoned(
    import_file, run, image_server, local_fetch, settings, django_capture_on_commit_callbacks
):
    from imports.services import start_fetching_images

    settings.POSTS_IMAGE_MAX_BYTES = 1000
    job = _import_with_images(import_file, run, image_server, "map.png")
    with django_capture_on_commit_callbacks(execute=True):
        start_fetching_images(job=job)

    image = job.images.get(role="body")
    assert image.status == RemoteImage.Status.FAILED
    assert "more than the 1,000 allowed" in image.error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://10.1.2.3/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x.png",
        "http://192.168.0.10/x.png",
    ],
)
def test_the_guard_refuses_inner_addresses_when_not_relaxed(url, settings):
    settings.IMPORTS_FETCH_ALLOW_LOOPBACK = False
    with pytest.raises(remote.FetchRefused, match="not on the public internet"):
        remote.fetch(url, max_bytes=1000, timeout=1)


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/", "http://10.0.0.7/x.png"])
def test_a_redirect_to_an_inner_address_is_refused(image_server, target):
    # Loopback is allowed here (the test server); the address the redirect names is checked
    # again, and private and link-local addresses stay refused even in tests.
    _Handler.routes["/sneaky.png"] = (302, {"Location": target}, b"")
    with pytest.raises(remote.FetchRefused, match="not on the public internet"):
        remote.fetch(f"{image_server}/sneaky.png", max_bytes=10**6, timeout=2, allow_loopback=True)


def test_the_guard_refuses_other_schemes():
    with pytest.raises(remote.FetchRefused, match="Only http"):
        remote.fetch("file:///etc/passwd", max_bytes=1000, timeout=1)


def test_a_ghost_figure_keeps_its_caption_once_its_image_is_ours(
    import_file, run, image_server, local_fetch, django_capture_on_commit_callbacks
):
    from imports.services import start_fetching_images

    body = (
        '<figure class="kg-card kg-image-card kg-card-hascaption"><img src="'
        + image_server
        + '/map.png" class="kg-image" alt="The harbour at dawn"><figcaption>Boats leaving '
        "before the tide turns</figcaption></figure>"
    )
    data = ghost_export(posts=[ghost_post("p1", "harbour", "Harbour", html=body)])
    job = run(import_file("ghost", data))
    before = Post.objects.get(slug="harbour").body
    assert "Image: The harbour at dawn" in before and "Boats leaving" in before

    with django_capture_on_commit_callbacks(execute=True):
        assert start_fetching_images(job=job)

    post = Post.objects.get(slug="harbour")
    figure = post.body[post.body.index("<figure") : post.body.index("</figure>")]
    assert "<img" in figure and 'alt="The harbour at dawn"' in figure
    assert "<figcaption>Boats leaving before the tide turns</figcaption>" in figure
    assert "kg-card" not in post.body


def test_the_page_follows_the_fetch_and_a_second_click_starts_nothing(
    import_file, run, image_server, local_fetch, client, editor
):
    from imports.services import fetch_images, start_fetching_images

    job = _import_with_images(import_file, run, image_server, "map.png", "gone.png")
    client.force_login(editor)
    page_url = f"/admin/imports/import/{job.pk}/change/"

    assert start_fetching_images(job=job)  # queued: the task runs when this test's work commits
    assert not start_fetching_images(job=job)  # a second click while it is queued: nothing
    page = client.get(page_url).content.decode()
    assert "0 of 3 images tried" in page
    assert f'data-hx-get="/admin/imports/import/{job.pk}/images/"' in page
    assert '<meta http-equiv="refresh"' in page  # without JavaScript, the page refreshes
    assert ">Fetch images</button>" not in page

    fetch_images(import_id=job.pk)  # what the task does

    box = client.get(f"/admin/imports/import/{job.pk}/images/").content.decode()
    assert "images tried" not in box and "data-hx-get" not in box  # done: no more watching
    assert "Could not fetch: " in box and ">Fetch images</button>" in box  # the missing one
    response = client.post(f"/admin/imports/import/{job.pk}/fetch-images/", follow=True)
    assert "Fetching the images: they arrive below." in response.content.decode()
