"""pymaildrop: a mail delivery agent compatible with Courier maildrop."""

__version__ = "0.1.0"
