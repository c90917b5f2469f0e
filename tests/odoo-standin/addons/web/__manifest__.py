{"name": "Web", "version": "19.0.1.0", "depends": ["base"], "installable": True}
