"""Command search: a rule-based interpreter of Korean and English commands that names the view
(and its filters) a command asks for. See docs/search.md."""
