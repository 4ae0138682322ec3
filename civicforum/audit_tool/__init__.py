"""The standalone auditor: ``civicforum-audit`` (verify, verify-receipt, witness, tabulate).

Imports only the pure packages (``civicforum.ledger``, ``civicforum.tabulation``) and the standard
library, so an auditor can run it without the web application or a database.
"""
