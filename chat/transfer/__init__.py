"""Encrypted file sharing over the chat.

Pure: the messages (``format``), chunk sizes (``chunks``), the two sides' state machines
(``state``), which offers a member accepts (``policy``), the errors (``errors``). Over a client:
where received files land (``downloads``), the sending side (``outgoing``), the receiving side
(``incoming``), and the manager that routes a client's events to them (``manager``).
"""
