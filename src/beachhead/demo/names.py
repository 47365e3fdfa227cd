"""Real-looking names for the demo company's customers and their people.

Company names are two invented parts plus an optional form ("Bluefin Analytics",
"Harbor Loop Labs"), each with a domain of its own; people get a first and a last name from
mixed origins. Everything is drawn from a seeded ``numpy.random.Generator`` so a seed gives
the same names.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_ROOTS = _words("""
Acorn Alder Amber Anchor Apex Arbor Arrow Aspen Atlas Aurora Basalt Beacon Birch Bison
Bluefin Bolt Boulder Bramble Brightwater Brook Canyon Cardinal Cedar Cinder Clearwater
Cobalt Comet Copper Coral Cove Crane Crescent Crimson Crystal Cypress Delta Drift Dune
Eagle Ember Evergreen Falcon Fern Fjord Flint Forge Fox Garnet Glacier Granite Grove
Harbor Hawk Hazel Heron Hickory Highland Hollow Horizon Indigo Iris Iron Ivy Jade Juniper
Kelp Kestrel Lagoon Lantern Larch Lark Linden Lotus Lumen Lynx Magnolia Maple Marble
Meadow Mesa Mint Monarch Moss Nimbus North Oak Obsidian Olive Onyx Orbit Orchid Osprey
Otter Pebble Pine Pioneer Plover Polar Prairie Quarry Quartz Raven Redwood Reef Ridge
River Robin Rowan Saffron Sage Salt Sequoia Shale Sierra Silver Slate Solstice Sparrow
Spruce Starling Stone Summit Swift Tide Timber Topaz Tundra Vale Vertex Willow Wren Zephyr
""")

_NOUNS = _words("""
Analytics Bank Bio Bridge Cloud Commerce Data Dynamics Energy Works Foods Freight Health
Insights Labs Learning Legal Logic Loop Media Metrics Mobility Motion Networks Partners
Pay Pharma Point Robotics Security Signal Software Stack Studio Supply Systems Tech
Therapeutics Trade Travel Ventures Vision Wave Wealth Wireless Yield Grid Path Craft Hub
Scale Shift Spark Sphere Stream Sync Thread Track Vault Nest Field Gate Line Base Core
""")

_FORMS: tuple[tuple[str, str], ...] = (
    ("", ""),
    (" Group", "group"),
    (" Inc", "inc"),
    (" Co", "co"),
    (" HQ", "hq"),
    (" Global", "global"),
    (" Collective", "collective"),
    (" Works", "works"),
)
_TLDS: tuple[str, ...] = (".com", ".com", ".com", ".com", ".io", ".co", ".ai", ".net", ".dev")

FIRST_NAMES = _words("""
Aaliyah Aarav Abigail Adaeze Adrian Aiko Aisha Alejandro Alex Amara Amelia Ana Andre Anika
Arjun Astrid Ava Beatriz Ben Bianca Bo Camila Carlos Chen Chidi Chloe Daniel Dara David
Deepa Diego Dmitri Elena Eli Elif Emeka Emily Emma Erik Esther Ethan Fatima Felix Freya
Gabriel Grace Hana Hannah Hiro Ibrahim Ines Isabel Ivan Jack Jamal James Jin Joao Jonas
Jordan Julia Kai Kavya Kenji Kofi Lars Layla Leah Leo Liam Lina Lucas Lucia Maya Mateo
Mei Mia Miguel Mila Mohammed Nadia Naomi Nia Nikhil Noah Nora Olga Omar Oscar Priya Rafael
Ravi Rosa Ryan Sam Sara Sean Sofia Sven Tariq Tomas Uma Victor Wei Yara Yusuf Zara Zoe
""")

LAST_NAMES = _words("""
Abara Adeyemi Ahmed Alvarez Andersen Bauer Becker Bennett Bianchi Brooks Campbell Castillo
Chen Costa Cruz Das Dubois Edwards Eriksson Evans Fernandes Fischer Garcia Gomez Gupta
Hansen Harris Hoffmann Hughes Ibrahim Ito Jansen Jensen Johnson Kaur Khan Kim Kowalski
Kumar Larsen Laurent Lee Lopez Martin Meyer Mendes Moreau Morales Murphy Nakamura Nguyen
Novak Okafor Olsen Ortiz Park Patel Perez Petrov Quinn Reddy Reyes Ricci Rossi Santos
Sato Schmidt Shah Silva Singh Smith Sousa Suzuki Tanaka Taylor Torres Tran Vargas Walker
Wang Weber Williams Wilson Wong Yamamoto Yilmaz Young Zhang Zimmermann
""")

FREE_MAIL: tuple[str, ...] = (
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "hotmail.com",
    "icloud.com",
    "proton.me",
)


def slug(text: str) -> str:
    """Lowercase ASCII letters and digits joined by dashes (account ids)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def company_names(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """``n`` distinct (name, domain) pairs.

    Combinations are drawn without replacement, so names never repeat; past the number of
    combinations a running number keeps them distinct.
    """
    n_plain = len(_ROOTS) * len(_NOUNS)
    n_combo = n_plain * len(_FORMS)
    # Plain names ("Bluefin Analytics") first; forms ("... Group") only once those run out.
    picks = np.concatenate([rng.permutation(n_plain), n_plain + rng.permutation(n_combo - n_plain)])
    out: list[tuple[str, str]] = []
    seen_names: set[str] = set()
    seen_domains: set[str] = set()
    tlds = rng.integers(0, len(_TLDS), size=max(n, 1) * 2)
    i = 0
    for k in picks:
        if len(out) == n:
            break
        root = _ROOTS[k % len(_ROOTS)]
        noun = _NOUNS[(k // len(_ROOTS)) % len(_NOUNS)]
        form, form_slug = _FORMS[k // (len(_ROOTS) * len(_NOUNS))]
        name = f"{root} {noun}{form}"
        domain = f"{root}{noun}{form_slug}".lower() + _TLDS[tlds[i % len(tlds)]]
        i += 1
        if name in seen_names or domain in seen_domains:
            continue
        seen_names.add(name)
        seen_domains.add(domain)
        out.append((name, domain))
    extra = 2
    while len(out) < n:  # more accounts than combinations: number the rest
        base_name, base_domain = out[len(out) % max(1, n_combo)]
        stem, _, tld = base_domain.partition(".")
        out.append((f"{base_name} {extra}", f"{stem}{extra}.{tld}"))
        extra += 1
    return out


def person_names(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """``n`` (first, last) name pairs (repeats allowed, as among real people)."""
    firsts = rng.integers(0, len(FIRST_NAMES), size=n)
    lasts = rng.integers(0, len(LAST_NAMES), size=n)
    return [
        (FIRST_NAMES[f], LAST_NAMES[ln])
        for f, ln in zip(firsts.tolist(), lasts.tolist(), strict=True)
    ]


@lru_cache(maxsize=4096)
def _ascii(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def work_email(first: str, last: str, domain: str, style: int) -> str:
    """A company address in one of the usual shapes (first.last, flast, first)."""
    f, la = _ascii(first), _ascii(last)
    local = (f"{f}.{la}", f"{f[0]}{la}", f, f"{f}{la[0]}")[style % 4]
    return f"{local}@{domain}"


def free_email(first: str, last: str, provider: str, number: int) -> str:
    """A personal address at a free-mail provider."""
    f, la = _ascii(first), _ascii(last)
    local = f"{f}.{la}{number}" if number % 3 else f"{f}{la}{number % 100}"
    return f"{local}@{provider}"
