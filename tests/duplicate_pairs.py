"""A labelled set of FreshBooks client pairs for the duplicate scorer (mappings/duplicates.py): same person or not.

Generated from a seed. The same person comes back with a new email (that is when the scorer is asked) and one or
more of: a typo in a name, a nickname, first and last name swapped, other case or no accents, a phone written
otherwise, a move to a new address, a new employer. Different people: family members sharing an email, a phone
and an address; people with the same name elsewhere; neighbours at one address; near names in one city; anyone.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

FIRST = ["Robert", "William", "James", "Michael", "Richard", "Thomas", "Joseph", "Daniel", "David", "Stephen",
         "Christopher", "Anthony", "Edward", "Andrew", "Benjamin", "Charles", "John", "Matthew", "Nicholas",
         "Patrick", "Peter", "Samuel", "Timothy", "Elizabeth", "Katherine", "Jennifer", "Jessica", "Margaret",
         "Susan", "Rebecca", "Patricia", "Victoria", "Amanda", "Deborah", "Sarah", "Olivia", "Emma", "Sophia",
         "José", "María", "Zoë", "Chloé", "Renée", "François", "Jürgen", "Łukasz", "Søren", "Ana", "Li", "Wei",
         "Hiroshi", "Yuki", "Aarav", "Priya", "Mohammed", "Fatima", "Olga", "Ivan", "Noah", "Liam", "Mia", "Ava"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernández", "López", "González", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee",
        "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
        "Müller", "Schröder", "Dubois", "Lefèvre", "Nowak", "Kowalski", "Ødegård", "Rossi", "Bianchi", "Novák",
        "Nakamura", "Tanaka", "Wang", "Chen", "Kim", "Park", "Nguyen", "Patel", "Singh", "O'Brien", "McDonald",
        "Van der Berg", "De la Cruz", "Ivanov", "Petrova", "Andersson", "Johansson", "Silva", "Santos"]
NICK = {"Robert": "Bob", "William": "Bill", "James": "Jim", "Michael": "Mike", "Richard": "Rick",
        "Thomas": "Tom", "Joseph": "Joe", "Daniel": "Dan", "David": "Dave", "Stephen": "Steve",
        "Christopher": "Chris", "Anthony": "Tony", "Edward": "Ed", "Andrew": "Andy", "Benjamin": "Ben",
        "Charles": "Charlie", "John": "Jack", "Matthew": "Matt", "Nicholas": "Nick", "Patrick": "Pat",
        "Peter": "Pete", "Samuel": "Sam", "Timothy": "Tim", "Elizabeth": "Liz", "Katherine": "Kate",
        "Jennifer": "Jenny", "Jessica": "Jess", "Margaret": "Maggie", "Susan": "Sue", "Rebecca": "Becky",
        "Patricia": "Trish", "Victoria": "Vicky", "Amanda": "Mandy", "Deborah": "Debbie", "Sarah": "Sally",
        "José": "Pepe"}
STREETS = ["Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Sunset",
           "Highland", "Church", "Mill", "River", "Spring", "Forest", "Meadow", "Ridge", "Valley"]
KINDS = [("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr"), ("Lane", "Ln"), ("Boulevard", "Blvd")]
CITIES = [("New York", "10001"), ("Los Angeles", "90012"), ("Chicago", "60601"), ("Houston", "77002"),
          ("Phoenix", "85004"), ("Seattle", "98101"), ("Denver", "80202"), ("Boston", "02108"),
          ("Austin", "78701"), ("Portland", "97204"), ("Miami", "33130"), ("Atlanta", "30303")]
FREE = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com"]
WORK = ["acme.com", "globex.com", "initech.com", "umbrella.io", "hooli.com", "stark.co", "wayne.com"]
ORGS = ["Acme Corp", "Globex", "Initech", "Umbrella Ltd", "Hooli", "Stark Industries", "Wayne Enterprises"]


@dataclass(frozen=True)
class Pair:
    a: dict
    b: dict
    same: bool
    kind: str


def ascii_fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


class _Maker:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def phone(self) -> str:
        return f"{self.rng.randint(201, 989)}{self.rng.randint(200, 999)}{self.rng.randint(0, 9999):04d}"

    def styled_phone(self, digits: str) -> str:
        a, b, c = digits[:3], digits[3:6], digits[6:]
        return self.rng.choice([f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", digits,
                                f"1{digits}", f"+1{digits}"])

    def address(self) -> dict:
        street = self.rng.choice(STREETS)
        long, short = self.rng.choice(KINDS)
        city, code = self.rng.choice(CITIES)
        number = self.rng.randint(1, 9999)
        return {"number": number, "street": street, "kind": (long, short), "city": city, "code": code}

    def street_text(self, address: dict) -> str:
        long, short = address["kind"]
        return f"{address['number']} {address['street']} {self.rng.choice([long, short, short + '.'])}"

    def email(self, first: str, last: str, domain: str | None = None) -> str:
        f, la = ascii_fold(first).lower().replace(" ", ""), ascii_fold(last).lower().replace(" ", "").replace("'", "")
        local = self.rng.choice([f"{f}.{la}", f"{f[0]}{la}", f"{f}{la}", f"{f}_{la}", f"{f}{self.rng.randint(1, 99)}",
                                 f"{la}.{f}", f"{f}.{la}{self.rng.randint(70, 99)}"])
        return f"{local}@{domain or self.rng.choice(FREE + WORK)}"

    def person(self) -> dict:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        address = self.address()
        organization = self.rng.choice(ORGS) if self.rng.random() < 0.3 else ""
        return {"first": first, "last": last, "phone": self.phone() if self.rng.random() < 0.75 else "",
                "address": address, "organization": organization, "email": self.email(first, last)}

    def client(self, p: dict, *, first: str | None = None, last: str | None = None, email: str | None = None) -> dict:
        return {"fname": first or p["first"], "lname": last or p["last"], "email": email or p["email"],
                "bus_phone": self.styled_phone(p["phone"]) if p["phone"] else "",
                "p_street": self.street_text(p["address"]), "p_city": p["address"]["city"],
                "p_code": p["address"]["code"], "p_country": "United States", "organization": p["organization"]}

    def typo(self, word: str) -> str:
        if len(word) < 4:
            return word + word[-1]
        i = self.rng.randint(1, len(word) - 2)
        return self.rng.choice([word[:i] + word[i + 1:], word[:i] + word[i] + word[i:],
                                word[:i] + word[i + 1] + word[i] + word[i + 2:],
                                word[:i] + self.rng.choice("aeiourstnl") + word[i + 1:]])

    def new_email(self, p: dict, first: str, last: str) -> str:
        """The same person's other address: mostly another local part and domain, sometimes the same local part."""
        old_local, old_domain = p["email"].split("@")
        if self.rng.random() < 0.3:
            return f"{old_local}@{self.rng.choice([d for d in FREE + WORK if d != old_domain])}"
        while True:
            email = self.email(first, last)
            if email != p["email"]:
                return email


def _same_person(m: _Maker, p: dict) -> Pair:
    """The customer comes back with a new email and one or more changes; at least one of phone, address, the
    email's local part or the organization still links the two (a new name, email, phone and home at once is
    another person as far as any record can tell)."""
    a = m.client(p)
    kind = m.rng.choice(["typo", "nickname", "swapped", "case_accents", "moved", "phone_format", "new_job",
                         "typo_moved"])
    first, last = p["first"], p["last"]
    moved = dict(p)
    if kind in ("typo", "typo_moved"):
        if m.rng.random() < 0.5:
            first = m.typo(first)
        else:
            last = m.typo(last)
    elif kind == "nickname":
        first = NICK.get(first, first)
    elif kind == "case_accents":
        first, last = m.rng.choice([(ascii_fold(first), ascii_fold(last)), (first.upper(), last.upper()),
                                    (first.lower(), last.lower())])
    elif kind == "new_job":
        moved["organization"] = m.rng.choice([o for o in ORGS if o != p["organization"]])
    if kind in ("moved", "typo_moved"):
        moved["address"] = m.address()
        if not p["phone"]:  # nothing else would link them: the old email's local part on a new domain
            local = p["email"].split("@")[0]
            return Pair(a, m.client(moved, first=first, last=last,
                                    email=f"{local}@{m.rng.choice(WORK)}"), True, kind)
    b = m.client(moved, first=first, last=last, email=m.new_email(p, first, last))
    if kind == "swapped":
        b["fname"], b["lname"] = b["lname"], b["fname"]
    return Pair(a, b, True, kind)


def _different_people(m: _Maker, p: dict) -> Pair:
    a = m.client(p)
    kind = m.rng.choice(["family", "family", "same_name", "same_name", "neighbour", "near_name", "anyone"])
    q = m.person()
    if kind == "family":  # a spouse or child: same last name, email, phone and home
        other = m.rng.choice([f for f in FIRST if f != p["first"] and NICK.get(f) != NICK.get(p["first"], "-")])
        q.update(last=p["last"], phone=p["phone"], address=p["address"], email=p["email"],
                 organization=m.rng.choice(["", p["organization"]]))
        return Pair(a, m.client(q, first=other), False, kind)
    if kind == "same_name":  # someone else called the same, elsewhere
        q.update(first=p["first"], last=p["last"])
        q["email"] = m.email(p["first"], p["last"])
    elif kind == "neighbour":  # the flat next door, or a flatmate
        q["address"] = dict(p["address"], number=p["address"]["number"] + m.rng.choice([0, 1, 2]))
    elif kind == "near_name":  # a similar name in the same city
        q.update(first=p["first"], last=m.rng.choice([x for x in LAST if x != p["last"]]))
        q["address"] = dict(q["address"], city=p["address"]["city"], code=p["address"]["code"])
    if q["email"] == p["email"]:
        q["email"] = "x" + q["email"]
    return Pair(a, m.client(q), False, kind)


def labelled_pairs(seed: int, count: int = 3000, same_share: float = 0.4) -> list[Pair]:
    m = _Maker(seed)
    return [(_same_person if m.rng.random() < same_share else _different_people)(m, m.person())
            for _ in range(count)]
