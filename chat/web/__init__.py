"""The browser client: our own Python under Pyodide, in the student's browser, over a WebSocket.

:mod:`~chat.web.page` is the page's glue (the join form, the chat and its panels) over the same
application core as the terminal clients; :mod:`~chat.web.transport` the WebSocket as the
client's byte stream; :mod:`~chat.web.storage` the keys and trust kept in localStorage and the
identity file shared with the terminal client. ``static/`` holds the HTML, JavaScript and CSS.
"""
