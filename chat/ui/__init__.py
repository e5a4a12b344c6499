"""The user interfaces, two views over the application core (:mod:`chat.app`): the line client
(:mod:`chat.ui.line`) and the Textual client (:mod:`chat.ui.tui`). They share the command line
(:mod:`chat.ui.options`), the command parser (:mod:`chat.ui.commands`), the place where commands
meet the core (:mod:`chat.ui.runner`) and the table from events to words (:mod:`chat.ui.text`)."""
