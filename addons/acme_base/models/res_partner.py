from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    acme_customer_code = fields.Char(index=True, copy=False)

    # Odoo 19 declares SQL constraints as model attributes (_sql_constraints is deprecated).
    _acme_customer_code_uniq = models.Constraint(
        "unique(acme_customer_code)", "Customer code must be unique."
    )
