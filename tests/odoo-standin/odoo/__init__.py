"""Stand-in Odoo package (tests only): see ../README.md."""
