"""The user interfaces: events in words (:mod:`chat.ui.text`), the line client
(:mod:`chat.ui.line`) and the Textual client (:mod:`chat.ui.tui`)."""
