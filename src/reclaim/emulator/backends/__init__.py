"""Backends: the operations that change the tenant, one place per kind of object (moto's ``models.py``).

A Graph handler and an Exchange cmdlet that change the same object call the same operation here (Graph
``PATCH messageRules/{id} {"isEnabled": false}`` and ``Disable-InboxRule`` both call
``mailbox.set_rule_enabled``), after one lookup (``mailbox.find_rule``). Backends know the state's shape,
not the wire: they take the state, the user and plain values, raise ``LookupError`` subclasses when an object
is missing, and leave errors, views and warnings to the API that called them.
"""
