"""HTML pages, rendered from Jinja templates over the same services as the API."""

from citymeter.web.pages import certificates, home, login, sources

ROUTERS = [home.router, login.router, sources.router, certificates.router]
