"""Is this FreshBooks client the same person as that one? A score in [0, 1] and the evidence for it.

Used when an order's email matches no client: a returning customer with a new email must not become a second
client. Each field agrees, nearly agrees, disagrees or is missing; each outcome adds a weight (log-odds, in the
manner of Fellegi-Sunter record linkage) and the sum becomes a probability-like score through a logistic curve.
The weights were set by hand and the thresholds (`clients.duplicates` in the rules) chosen from the precision
and recall measured on a labelled set (tests/duplicate_pairs.py; README "Duplicate clients").

What weighs most: the name (nicknames, swapped first/last, accents and case normalised away), then a phone
number (compared in E.164), the billing address, the email's local part and the organization. A different first
name under the same last name is the mark of a family member sharing an email or an address: strongly against.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from rapidfuzz.distance import OSA
from rapidfuzz.fuzz import ratio

from mappings.addresses import country_name

# Common English given-name variants -> one canonical form (both sides are mapped before comparing).
NICKNAMES = {
    "bob": "robert", "bobby": "robert", "rob": "robert", "robbie": "robert", "bert": "robert",
    "bill": "william", "billy": "william", "will": "william", "willy": "william", "liam": "william",
    "jim": "james", "jimmy": "james", "jamie": "james", "mike": "michael", "mikey": "michael", "mick": "michael",
    "dick": "richard", "rick": "richard", "rich": "richard", "ricky": "richard", "tom": "thomas", "tommy": "thomas",
    "joe": "joseph", "joey": "joseph", "jos": "joseph", "dan": "daniel", "danny": "daniel", "dave": "david",
    "davy": "david", "steve": "stephen", "steven": "stephen", "stevie": "stephen", "chris": "christopher",
    "kit": "christopher", "tony": "anthony", "ant": "anthony", "ed": "edward", "eddie": "edward",
    "ted": "edward", "ned": "edward", "al": "albert", "alex": "alexander", "sandy": "alexander",
    "andy": "andrew", "drew": "andrew", "ben": "benjamin", "benny": "benjamin", "charlie": "charles",
    "chuck": "charles", "chas": "charles", "greg": "gregory", "jack": "john", "johnny": "john", "jon": "john",
    "jerry": "gerald", "larry": "lawrence", "matt": "matthew", "nick": "nicholas", "nicky": "nicholas",
    "pat": "patrick", "pete": "peter", "ron": "ronald", "ronnie": "ronald", "sam": "samuel", "sammy": "samuel",
    "tim": "timothy", "timmy": "timothy", "fred": "frederick", "freddie": "frederick", "frank": "francis",
    "hank": "henry", "harry": "henry", "ken": "kenneth", "kenny": "kenneth", "len": "leonard", "lenny": "leonard",
    "phil": "philip", "ray": "raymond", "walt": "walter", "wally": "walter", "zach": "zachary", "zack": "zachary",
    "abby": "abigail", "beth": "elizabeth", "betty": "elizabeth", "liz": "elizabeth", "lizzie": "elizabeth",
    "eliza": "elizabeth", "kate": "katherine", "katie": "katherine", "kathy": "katherine", "kat": "katherine",
    "catherine": "katherine", "kathryn": "katherine", "cathy": "katherine", "jenny": "jennifer", "jen": "jennifer",
    "jess": "jessica", "jessie": "jessica", "maggie": "margaret", "meg": "margaret", "peggy": "margaret",
    "marge": "margaret", "sue": "susan", "susie": "susan", "suzy": "susan", "becky": "rebecca", "becca": "rebecca",
    "patty": "patricia", "trish": "patricia", "tricia": "patricia", "vicky": "victoria", "tori": "victoria",
    "mandy": "amanda", "manda": "amanda", "debbie": "deborah", "deb": "deborah", "cindy": "cynthia",
    "ally": "alexandra", "allie": "alexandra", "nancy": "ann", "annie": "ann",
    "anne": "ann", "anna": "ann", "dotty": "dorothy", "dot": "dorothy", "mary": "mary", "molly": "mary",
    "polly": "mary", "sally": "sarah", "sara": "sarah", "ellie": "eleanor", "nell": "eleanor", "pam": "pamela",
    "tina": "christina", "chrissy": "christina", "kim": "kimberly", "lou": "louis", "lucy": "lucille",
    "pepe": "jose", "paco": "francisco", "pancho": "francisco", "nacho": "ignacio", "lupe": "guadalupe",
}
# Letters NFKD does not decompose into a base letter and a mark.
TRANSLITERATE = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "æ": "ae", "Æ": "ae",
                               "œ": "oe", "Œ": "oe", "þ": "th", "Þ": "th", "ð": "d", "Ð": "d", "ı": "i"})
STREET_WORDS = {"street": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr", "boulevard": "blvd",
                "lane": "ln", "court": "ct", "place": "pl", "square": "sq", "apartment": "apt", "suite": "ste",
                "north": "n", "south": "s", "east": "e", "west": "w", "highway": "hwy", "parkway": "pkwy",
                "strasse": "str", "straße": "str"}
FREE_MAIL = {"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "aol.com",
             "icloud.com", "me.com", "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com", "mail.com",
             "yandex.ru", "mail.ru", "orange.fr", "free.fr", "libero.it", "qq.com", "163.com"}

# Weights (log-odds) of each outcome, and where the logistic curve is centred.
WEIGHTS = {
    "name_exact": 4.0, "name_close": 2.5, "family": -10.0, "name_differs": -6.0,
    "email_same": 4.0, "email_local": 3.0, "email_local_close": 1.5, "email_local_name": 1.0, "company_domain": 0.5,
    "phone_same": 4.0, "phone_differs": -1.0,
    "address_same": 3.0, "postcode_only": 0.5, "address_differs": -0.5,
    "organization_same": 1.5, "organization_differs": -0.5,
}
CENTRE = 4.5  # a name alone (4.0) scores 0.38: enough to ask, never enough to bind

EVIDENCE = {"name_exact": "name", "name_close": "name", "email_same": "email", "email_local": "email",
            "email_local_close": "email", "email_local_name": "email", "company_domain": "email domain",
            "phone_same": "phone", "address_same": "address", "postcode_only": "postcode",
            "organization_same": "organization"}


@dataclass(frozen=True)
class Person:
    """A client as compared: every field normalised, empty when unknown."""

    first: str  # folded
    given: str  # first in canonical form (bob -> robert)
    last: str
    email: str  # as given, lower case: two mailboxes differ by a dot or an underscore
    email_local: str  # letters and digits of the local part, without a +tag
    email_domain: str
    phone: str  # E.164 when it parses, else the digits
    street: str
    postcode: str
    city: str
    organization: str


@dataclass(frozen=True)
class Match:
    score: float
    evidence: tuple[str, ...]  # the fields that agree, strongest first

    def describe(self) -> str:
        return f"{self.score:.2f}: {', '.join(self.evidence) or 'no field agrees'}"


def fold(text: str | None) -> str:
    """Lower case, no accents, letters and digits separated by single spaces."""
    text = unicodedata.normalize("NFKD", (text or "").translate(TRANSLITERATE))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def given_name(text: str | None) -> str:
    """Folded, its first word in canonical form (Bob -> robert); further words kept (Mary Ann, De la Cruz)."""
    words = fold(text).split(" ")
    return " ".join([NICKNAMES.get(words[0], words[0]), *words[1:]])


def e164(raw: str | None, country_code: str = "") -> str:
    digits = re.sub(r"\D", "", raw or "")
    if len(digits) < 7:
        return ""
    try:
        number = phonenumbers.parse(raw, (country_code or "US").upper())
    except phonenumbers.NumberParseException:
        return digits
    if phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return digits


def street(text: str | None) -> str:
    return " ".join(STREET_WORDS.get(word, word) for word in fold(text).split())


def person(client: dict, country_code: str = "") -> Person:
    """A FreshBooks client (its API fields) as compared. National phone numbers are read in `country_code`, else
    in the billing country's."""
    country_code = country_code or country_name(client.get("p_country") or "")[1]
    email = (client.get("email") or "").strip().lower()
    local, _, domain = email.partition("@")
    phone = next((client[k] for k in ("bus_phone", "mob_phone", "home_phone") if client.get(k)), "")
    return Person(email=email, first=fold(client.get("fname")), given=given_name(client.get("fname")),
                  last=fold(client.get("lname")),
                  email_local=re.sub(r"[^0-9a-z]", "", local.split("+")[0]), email_domain=domain,
                  phone=e164(phone, country_code), street=street(client.get("p_street")),
                  postcode=re.sub(r"\s", "", (client.get("p_code") or "")).upper(), city=fold(client.get("p_city")),
                  organization=fold(client.get("organization")))


def score(a: Person, b: Person) -> Match:
    outcomes = [o for o in (_name(a, b), *_email(a, b), _phone(a, b), _address(a, b), _organization(a, b)) if o]
    total = sum(WEIGHTS[o] for o in outcomes)
    probability = 1 / (1 + math.exp(-(total - CENTRE)))
    agreeing = sorted((o for o in outcomes if o in EVIDENCE), key=lambda o: -WEIGHTS[o])
    evidence = tuple(dict.fromkeys(EVIDENCE[o] for o in agreeing))
    return Match(round(probability, 4), evidence)


def _similar(x: str, y: str) -> float:
    return ratio(x, y) / 100 if x and y else 0.0


def _name(a: Person, b: Person) -> str | None:
    if not (a.first or a.last) or not (b.first or b.last):
        return None
    straight = (max(_given(a.first, b.first), _given(a.given, b.given)), _near(a.last, b.last))
    swapped = (_given(a.first, b.last), _near(a.last, b.first))
    first, last = max(straight, swapped, key=sum)
    if first >= 0.99 and last >= 0.99:
        return "name_exact"
    if first >= 0.8 and last >= 0.8:
        return "name_close"
    if last >= 0.9 and first < 0.8:
        return "family"
    return "name_differs"


def _given(x: str, y: str) -> float:
    """Given names: an initial matches its name."""
    if x and y and (len(x) == 1 or len(y) == 1):
        return 1.0 if x[0] == y[0] else 0.0
    return _near(x, y)


def _near(x: str, y: str) -> float:
    """One typo (a letter added, dropped, changed or two swapped) counts as near whatever the length: ratio alone
    is harsh on short names (King, Knig: 0.75)."""
    if not x or not y:
        return 0.0
    if x != y and OSA.distance(x, y) <= 1 and min(len(x), len(y)) >= 3:
        return max(_similar(x, y), 0.85)
    return _similar(x, y)


def _email(a: Person, b: Person) -> list[str]:
    if not a.email_local or not b.email_local:
        return []
    if a.email == b.email:
        return ["email_same"]
    outcomes = []
    made_of_name = _made_of_name(a.email_local, a) or _made_of_name(b.email_local, b)
    if a.email_local == b.email_local and len(a.email_local) >= 4:
        outcomes.append("email_local_name" if made_of_name else "email_local")
    elif (_similar(a.email_local, b.email_local) >= 0.85 and len(a.email_local) >= 5 and not made_of_name
          and not _numbered_apart(a.email_local, b.email_local)):
        outcomes.append("email_local_close")
    if a.email_domain == b.email_domain and a.email_domain not in FREE_MAIL:
        outcomes.append("company_domain")
    return outcomes


def _made_of_name(local: str, p: Person) -> bool:
    """johnsmith, jsmith, smithjohn, john: says little more than the name (two John Smiths may both use it)."""
    first, last = p.first.replace(" ", ""), p.last.replace(" ", "")
    if not first or not last:
        return False
    return local in {first + last, last + first, first[0] + last, first + last[0], first, last}


def _numbered_apart(x: str, y: str) -> bool:
    """guest1002 and guest1003: the same word, other numbers: two accounts, not one person's typo."""
    return re.sub(r"\d", "", x) == re.sub(r"\d", "", y) and re.sub(r"\D", "", x) != re.sub(r"\D", "", y)


def _phone(a: Person, b: Person) -> str | None:
    if not a.phone or not b.phone:
        return None
    return "phone_same" if a.phone == b.phone else "phone_differs"


def _address(a: Person, b: Person) -> str | None:
    if not a.street or not b.street:
        return None
    same_code = bool(a.postcode) and a.postcode == b.postcode
    if _similar(a.street, b.street) >= 0.9 and (same_code or _similar(a.city, b.city) >= 0.9):
        return "address_same"
    return "postcode_only" if same_code else "address_differs"


def _organization(a: Person, b: Person) -> str | None:
    if not a.organization or not b.organization:
        return None
    return "organization_same" if _similar(a.organization, b.organization) >= 0.9 else "organization_differs"


def name_start(text: str | None) -> str:
    """A name as the candidate search and its lock compare starts: case and accents folded like `fold`, but
    letters of every script kept (Иван, Γιώργος), words apart by single spaces. Folding a prefix gives a prefix
    of the folded name, which the lock relies on (tests/unit/test_duplicate_scoring.py)."""
    text = unicodedata.normalize("NFKD", (text or "").casefold())
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(TRANSLITERATE)
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def search_prefixes(client: dict) -> dict[str, str]:
    """The candidate search for a new client: the first three letters of either name as typed (what FreshBooks'
    `fname_like` / `lname_like` are given), each with the folded start a candidate's name must have."""
    prefixes = {}
    for name in (client.get("fname") or "", client.get("lname") or ""):
        typed = name.strip()[:3].lower()
        folded = name_start(typed)
        if len(typed) >= 2 and len(folded) >= 2:
            prefixes[typed] = folded
    return prefixes


def starts_like(candidate: dict, folded_starts) -> bool:
    """A found client whose first or last name starts with one of the starts (FreshBooks' `_like` matches
    anywhere in the name; only a name's start is kept, so the search agrees with `new_client_keys`)."""
    names = [name_start(candidate.get("fname")), name_start(candidate.get("lname"))]
    return any(name.startswith(start) for name in names for start in folded_starts)


def new_client_keys(client: dict) -> set[str]:
    """The keys a new client's look-up and create are locked on: the first two and three folded letters of
    either name. When one client's search finds another (its folded start, two or three letters, begins the
    other's name), both hold that start as a key, so two customers who could be one person never look each
    other up at once, and the rest do not wait for each other."""
    keys = set()
    for name in (name_start(client.get("fname")), name_start(client.get("lname"))):
        if len(name) >= 2:
            keys |= {name[:2], name[:3]}
    return keys


def blocking_keys(p: Person) -> set[str]:
    """Keys two clients must share one of to be compared at all (listing duplicates across a whole book)."""
    keys = {f"name:{n[:4]}" for n in (p.first, p.last) if len(n) >= 2}
    if p.phone:
        keys.add(f"phone:{p.phone}")
    if p.email_local:
        keys.add(f"email:{p.email_local}")
    if p.street and p.postcode:
        keys.add(f"address:{p.postcode}:{p.street.split(' ')[0]}")
    return keys


def likely_duplicates(clients: list[dict], minimum: float) -> list[tuple[Match, dict, dict]]:
    """Pairs of clients scoring `minimum` or more, best first; only clients sharing a blocking key are compared."""
    people = [(c, person(c)) for c in clients]
    blocks: dict[str, list[int]] = {}
    for index, (_, p) in enumerate(people):
        for key in blocking_keys(p):
            blocks.setdefault(key, []).append(index)
    compared: set[tuple[int, int]] = set()
    found = []
    for members in blocks.values():
        for i, x in enumerate(members):
            for y in members[i + 1:]:
                if (x, y) in compared:
                    continue
                compared.add((x, y))
                match = score(people[x][1], people[y][1])
                if match.score >= minimum:
                    found.append((match, people[x][0], people[y][0]))
    return sorted(found, key=lambda f: -f[0].score)
