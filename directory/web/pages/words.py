"""The English words the pages show for the model's codes: each is a msgid of `pages.po`.

A code (`admin_area`, `REFERS_TO`) is for programs; people read these, in their language.
"""

from __future__ import annotations

PRECISION = {"exact": "exact", "locality": "town or city", "admin_area": "province or region",
             "country": "country", "hidden": "hidden"}
STATUS = {"active": "active", "paused": "paused", "closed": "closed"}
# referral paths' orders (`PathOrder`'s names)
ORDERS = {"FEWEST_HOPS": "fewest referrals", "FASTEST_RESPONSE": "fastest response", "HIGHEST_TRUST": "most trusted"}
INTAKE = {"phone": "Phone", "hotline": "Hotline", "email": "E-mail", "web-form": "Web form", "signal": "Signal",
          "whatsapp": "WhatsApp", "telegram": "Telegram", "sms": "SMS", "post": "Post", "in-person": "In person",
          "through-partner": "Through a partner", "other": "Other"}
# A link as read from the organisation whose page it is on: leaving it (out) or reaching it (in).
LINKS = {
    ("out", "REFERS_TO"): "Refers people to", ("in", "REFERS_TO"): "Takes referrals from",
    ("out", "PARTNERS_WITH"): "Partners with", ("in", "PARTNERS_WITH"): "Partners with",
    ("out", "MEMBER_OF"): "Member of", ("in", "MEMBER_OF"): "Has as a member",
    ("out", "FUNDS"): "Funds", ("in", "FUNDS"): "Funded by",
    ("out", "VETTED_BY"): "Vouched for by", ("in", "VETTED_BY"): "Vouches for",
    ("out", "DELIVERS_FOR"): "Delivers the programme of", ("in", "DELIVERS_FOR"): "Programme delivered by",
    ("out", "ENGAGES_WITH"): "Works with the mechanism", ("in", "ENGAGES_WITH"): "Mechanism worked with by",
}

# The maps' filters (their GraphQL spelling) as people read them; the form offers choices for codes.
MAP_FILTERS = {"serviceType": "Service", "serviceTypes": "Service", "group": "Defenders served",
               "country": "Country", "kind": "Kind of organisation",
               "region": "Region",
               "codes": "Places (countries or codes, separated by commas)", "indicators": "Need indicators",
               "donor": "Donor (its name or id)", "from": "From (an organisation's name or id)",
               "language": "Language", "k": "How many chains", "maxHops": "At most this many referrals",
               "order": "Best by", "metric": "Colour by", "currency": "Currency"}
MAP_TITLES = {"directory": "Organisations and services", "gaps": "Coverage gaps", "referrals": "Referral chains",
              "funding": "Funding against gaps"}

# Who may see a record, in the words a person choosing it needs.
VISIBILITY = {"public": "Public: anyone, also without signing in",
              "network": "Network: members and stewards of this directory and its trusted peers",
              "restricted": "Restricted: stewards and your own organisation only"}
# Who sees a record that is not public, said on its page to those who see it (the public never does).
SEEN_BY = {"network": "Not the public: members and stewards of this directory and its trusted peers",
           "restricted": "Only stewards and the organisation's own members"}
# Said to those who may edit a public record: a member read its own page's services as public when
# its organisation was restricted (no line said otherwise).
SEEN_BY_ANYONE = "Anyone, also without signing in"
# Beside an intake channel seen by fewer than its service: a restricted Signal number read as public.
# (said of every channel to those who may edit it: a Spanish walk could not tell who sees an unmarked one)
CHANNEL_SEEN_BY = {"public": "anyone", "network": "not the public",
                   "restricted": "only stewards and the organisation's members"}
AS_ITS_ORGANISATION = "as its organisation is"
REQUEST_STATUS = {"pending": "waiting", "approved": "approved", "declined": "declined"}
_WIDEST_FIRST = ("public", "network", "restricted")


def narrowest(*visibilities: str) -> str:
    """Who may see something seen only by those who may see each of these: a service is seen by no
    more than its organisation is, a channel by no more than its service."""
    return max(visibilities, key=_WIDEST_FIRST.index)
ROLES = {"member": "Member: edits its own organisation's records", "steward": "Steward: sees and edits everything"}

# An import problem's column when it is about no one column (`formats.hxl`, the importer); a hashtag
# (`#org+name`) is shown as written, the file's own word for the column.
IMPORT_COLUMNS = {"hashtag row": "hashtag row", "row": "row", "file": "file", "id": "id"}

# A field as a refusal names it, where its form's label also says how to fill it in ("one per line").
SHORT_LABELS = {"aliases": "Other names", "identifiers": "Registered identifiers"}
