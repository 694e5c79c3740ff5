"""The conversation's one exception, raised by every reader of answers (``parse``, ``agent``, ``questions``)."""


class AnswerError(ValueError):
    """An answer the parser cannot use; the message says what a good answer looks like."""
