{"name": "Base", "version": "19.0.1.0", "depends": [], "installable": True}
