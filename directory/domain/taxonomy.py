"""The controlled vocabularies of the directory: organisation kinds, service types, defender groups.

Every term carries a one-line definition, shown with it in the taxonomy (GraphQL `taxonomy`,
`directory taxonomy`). A service's `purposes` are service types too: what a grant pays for. Only a
service of a grant type (`GRANT_TYPES`) has purposes: a listing by type finds a service by them, so
purposes on a legal-aid service would list it as a safe house.

The built-in terms are seeded into the graph as `Term` nodes when the schema is set up; a steward
adds more with `directory taxonomy add`. Validation always reads the terms from the graph, so an
added term is accepted everywhere at once. Codes are stable; labels may be reworded. An added
term's code has the built-in codes' shape (`check_code`): imports, URLs and filters write it as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from directory.domain.errors import BadArgument, Plural

SERVICE_TYPE = "service-type"
DEFENDER_GROUP = "defender-group"
ORGANISATION_KIND = "organisation-kind"
SCHEMES = (SERVICE_TYPE, DEFENDER_GROUP, ORGANISATION_KIND)


@dataclass(frozen=True)
class Term:
    scheme: str
    code: str
    label: str
    description: str = ""


def _terms(scheme: str, entries: list[tuple[str, str, str]]) -> tuple[Term, ...]:
    return tuple(Term(scheme, code, label, description) for code, label, description in entries)


ORGANISATION_KINDS = _terms(ORGANISATION_KIND, [
    ("international-ngo", "International NGO", "Works across borders, often with a global protection programme."),
    ("regional-network", "Regional network", "A network or coalition of defenders' organisations in one region."),
    ("national-ngo", "National NGO", "Registered and working in one country."),
    ("local-group", "Local group", "A community-based or local defenders' group."),
    ("donor", "Donor", "A foundation, fund or government donor that funds protection work."),
    ("shelter", "Shelter or relocation host", "Hosts defenders in temporary relocation; location is sensitive."),
    ("intergovernmental", "Intergovernmental mechanism",
     "UN special procedures, regional human rights commissions and courts."),
    ("government", "Government body or embassy", "Embassies, ministries and their protection focal points."),
    ("nhri", "National human rights institution", "A national human rights commission or ombudsperson."),
    ("consortium", "Consortium or mechanism",
     "Organisations delivering one programme together through their members, such as ProtectDefenders.eu."),
    ("national-coalition", "National coalition", "A coalition of a country's defenders' organisations."),
    ("international-federation", "International federation",
     "A federation of national member organisations, such as FIDH."),
    ("national-mechanism", "National protection mechanism",
     "A state's own programme for protecting defenders and journalists."),
    ("host-programme", "Host city or shelter-city programme",
     "A city or programme that hosts defenders for a period of respite."),
    ("professional-body", "Professional body", "Bar associations, unions, press associations."),
    ("academic", "Academic", "Universities and research centres, including scholar-rescue hosts."),
])

SERVICE_TYPES = _terms(SERVICE_TYPE, [
    ("emergency-grant", "Emergency grant", "Rapid small grants for security, legal or medical costs."),
    ("relocation-in-country", "Temporary relocation in-country", "Relocation to a safer place in the same country."),
    ("relocation-regional", "Temporary relocation in the region", "Relocation to a neighbouring country."),
    ("relocation-abroad", "Temporary relocation abroad", "Relocation outside the region, usually for months."),
    ("safe-house", "Safe house", "Short-term protected accommodation."),
    ("rest-respite", "Rest and respite", "Time away from threats to recover and plan."),
    ("legal-aid", "Legal aid", "Lawyers and legal representation for defenders facing charges or attacks."),
    ("trial-observation", "Trial observation", "Independent observers at defenders' trials."),
    ("detention-visits", "Prison and detention visits", "Visiting defenders held in prison or detention."),
    ("reprisals-response", "Response to reprisals",
     "Help for people intimidated or attacked for cooperating with the UN or regional mechanisms."),
    ("solidarity-mission", "Solidarity and fact-finding missions",
     "Visits to defenders and their communities to show support and document what happened."),
    ("resettlement", "Resettlement", "Permanent resettlement in a third country, usually with refugee status."),
    ("intake-helpline", "Intake helpdesk or hotline", "A line or desk where defenders at risk first ask for help."),
    ("resources-manuals", "Resources and manuals", "Guides, manuals and tools defenders can use on their own."),
    ("medical-care", "Medical care", "Medical treatment, including after detention or attack."),
    ("psychosocial-support", "Psychosocial support", "Counselling, trauma care and well-being support."),
    ("dependents-support", "Support for dependents", "Support for the families and children of defenders."),
    ("exile-support", "Long-term support in exile", "Support for defenders who cannot return home."),
    ("digital-security", "Digital security", "Device and account security, incident response, training."),
    ("physical-security", "Physical security and protection planning",
     "Risk assessment, protection plans, security equipment."),
    ("protective-accompaniment", "Protective accompaniment", "International presence beside defenders at risk."),
    ("urgent-action", "Urgent action and advocacy", "Urgent appeals, campaigns and public or private advocacy."),
    ("mechanism-access", "Access to UN and regional mechanisms",
     "Help to bring cases to UN special procedures and regional bodies."),
    ("diplomatic-engagement", "Diplomatic engagement", "Engaging embassies and governments on a defender's case."),
    ("visa-support", "Visa support", "Letters, guidance and fast-tracking for visas."),
    ("training", "Training and capacity building", "Training in security, advocacy and organisational resilience."),
    ("monitoring-documentation", "Monitoring and documentation", "Documenting attacks on defenders."),
    ("coordination-platform", "Coordination platform", "Platforms where protection actors coordinate."),
    ("grant-making", "Grant making", "Regular (non-emergency) grants to defenders' organisations."),
])

GRANT_TYPES = ("emergency-grant", "grant-making")
"""The service types that pay for others (`Service.purposes`). Fixed: a type a steward adds pays for nothing."""

DEFENDER_GROUPS = _terms(DEFENDER_GROUP, [
    ("journalists", "Journalists and media workers", "Reporters, editors, photographers and media workers."),
    ("women", "Women defenders", "Women defending any right, and anyone defending women's rights."),
    ("lgbtiq", "LGBTIQ defenders", "Lesbian, gay, bisexual, trans, intersex and queer defenders and their allies."),
    ("land-environment", "Land and environmental defenders", "People defending land, territory and the environment."),
    ("indigenous", "Indigenous peoples", "Indigenous defenders and communities."),
    ("lawyers-judges", "Lawyers and judges", "Lawyers, judges and others defending the rule of law."),
    ("trade-unionists", "Trade unionists", "Union members and labour rights defenders."),
    ("students-academics", "Students and academics", "Students, scholars and researchers."),
    ("minorities", "Religious and ethnic minorities", "Defenders from, or of, religious and ethnic minorities."),
    ("migrants-rights", "Migrants' rights defenders", "People defending the rights of migrants."),
    ("anti-corruption", "Anti-corruption activists", "People exposing and fighting corruption."),
    ("health-workers", "Health workers", "Doctors, nurses and health workers defending the right to health."),
    ("artists", "Artists", "Artists, writers and musicians at risk for their work."),
    ("online-activists", "Online activists", "Bloggers and activists whose work is mainly online."),
    ("children-youth", "Children's and youth rights", "Young defenders, and defenders of children's rights."),
    ("refugees-displaced", "Refugee and displaced people's rights",
     "Defenders of refugees and displaced people, and displaced defenders."),
    ("disability-rights", "Disability rights", "Defenders of the rights of persons with disabilities."),
    ("sex-workers", "Sex workers' rights", "Defenders of sex workers' rights."),
    ("relatives-disappeared", "Relatives of the disappeared",
     "Families searching for the disappeared and demanding justice."),
    ("whistleblowers", "Whistleblowers", "People who disclose wrongdoing in the public interest."),
    ("peasants-rural", "Peasants and rural workers", "Small farmers, rural workers and their organisations."),
    ("in-exile", "Defenders in exile", "Defenders who had to leave their country and work from abroad."),
    ("un-icc-cooperation", "People cooperating with UN or ICC mechanisms",
     "People who give information to, or testify before, UN bodies or the International Criminal Court."),
])

BUILT_IN: tuple[Term, ...] = ORGANISATION_KINDS + SERVICE_TYPES + DEFENDER_GROUPS
BUILT_IN_KEYS = frozenset((t.scheme, t.code) for t in BUILT_IN)
"""Terms whose label and definition come with this program: a store takes them again when opened."""

CODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
"""A term's code, as every built-in one is: lower-case ASCII letters and digits, words joined by
single dashes. A CSV cell, a URL and a filter carry it as typed, and "did you mean" finds it."""
MAX_CODE = 64


def check_code(code: str) -> str:
    """The code of a term being added, if it has the shape `CODE` declares; BadArgument saying
    what the shape is otherwise (a code with a space or capitals could never be typed back)."""
    if len(code) > MAX_CODE:
        raise BadArgument("code", Plural("is longer than %(most)s character", "is longer than %(most)s characters",
                                         "most"), most=MAX_CODE)
    if not CODE.fullmatch(code):
        raise BadArgument("code", "%(code)r is not a term code: lower-case ASCII letters and digits, words "
                                  "joined by single dashes, as in %(example)r", code=code, example="legal-aid")
    return code


# Services a shelter offers; organisations of these kinds publish locations at country
# precision unless a steward deliberately says otherwise.
SENSITIVE_KINDS = frozenset({"shelter"})
# Services that are a place where defenders stay, whoever offers them: where one works is where
# people at risk sleep, so its places are held to its provider's published location as a shelter's
# services are (threat model V17), and a provider offering the public one is a shelter to the
# rule on lonely shelters (V7, `store.records.shelters`).
SHELTERING_TYPES = frozenset({"safe-house"})
