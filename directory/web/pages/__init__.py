"""Server-rendered pages for people who do not write GraphQL (`routes.py`), in their languages (`i18n.py`)."""
