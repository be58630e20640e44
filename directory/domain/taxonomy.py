"""The controlled vocabularies of the directory: organisation kinds, service types, defender groups.

The built-in terms are seeded into the graph as `Term` nodes when the schema is set up; a steward
adds more with `directory taxonomy add`. Validation always reads the terms from the graph, so an
added term is accepted everywhere at once. Codes are stable; labels may be reworded.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    ("government", "Government body", "Embassies, ministries and their protection focal points."),
    ("nhri", "National human rights institution", "A national human rights commission or ombudsperson."),
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

DEFENDER_GROUPS = _terms(DEFENDER_GROUP, [
    ("journalists", "Journalists and media workers", ""),
    ("women", "Women defenders", ""),
    ("lgbtiq", "LGBTIQ defenders", ""),
    ("land-environment", "Land and environmental defenders", ""),
    ("indigenous", "Indigenous peoples", ""),
    ("lawyers-judges", "Lawyers and judges", ""),
    ("trade-unionists", "Trade unionists", ""),
    ("students-academics", "Students and academics", ""),
    ("minorities", "Religious and ethnic minorities", ""),
    ("migrants-rights", "Migrants' rights defenders", ""),
    ("anti-corruption", "Anti-corruption activists", ""),
    ("health-workers", "Health workers", ""),
    ("artists", "Artists", ""),
    ("online-activists", "Online activists", ""),
])

BUILT_IN: tuple[Term, ...] = ORGANISATION_KINDS + SERVICE_TYPES + DEFENDER_GROUPS

# Services a shelter offers; organisations of these kinds publish locations at country
# precision unless a steward deliberately says otherwise.
SENSITIVE_KINDS = frozenset({"shelter"})
