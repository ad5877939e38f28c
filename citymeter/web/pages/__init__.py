"""HTML pages, rendered from Jinja templates over the same services as the API."""

from citymeter.web.pages import certificates, districts, home, login, sources

ROUTERS = [home.router, districts.router, login.router, sources.router, certificates.router]
