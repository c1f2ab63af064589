"""The web: report pages, the JSON API and signed links to them."""
