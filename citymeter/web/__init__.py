"""The web front doors: JSON API, pages and the app factory that assembles them."""
