"""odoo-stack: the invoke collection. `invoke --list` shows every task."""

from invoke import Collection

from .db import cli as db_cli
from .example import cli as example_cli
from .image import cli as image_cli
from .oca import cli as oca_cli
from .render import cli as render_cli

ns = Collection()
ns.add_collection(Collection.from_module(oca_cli, name="oca"))
ns.add_collection(Collection.from_module(db_cli, name="db"))
ns.add_collection(Collection.from_module(image_cli, name="image"))
ns.add_task(example_cli.example)
ns.add_task(render_cli.render)
