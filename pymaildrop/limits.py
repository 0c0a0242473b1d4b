"""Every hard limit, default and timeout pymaildrop applies, in one place.

Contract: plain constants; other modules import them and never hard-code a
    number of their own.  Each says where maildrop sets the same thing.
Safety: the limits bound memory, recursion and waiting, so that a hostile
    message or filter ends in a clean EX_TEMPFAIL instead of exhausting the
    machine or hanging the MTA's delivery slot.
Errors: n/a.
See also: maildropfilter(7) (defaults of the LOCK* variables), maildrop(1)
    "WATCHDOG TIMER".
"""

# Messages up to this size stay in memory; larger ones are spooled to a file.
MAX_MESSAGE_IN_MEMORY = 256 * 1024

# Header bytes examined for header views and pattern matching; a header block
# larger than this is treated as ending there (the rest is body).  maildrop has
# no such bound; this one only keeps a hostile message from exhausting memory
# (Postfix's header_size_limit keeps real headers far smaller).
MAX_HEADER_BYTES = 64 * 1024 * 1024

# An unterminated last line of at most this many bytes is not searched
# (maildrop's reading of its last buffer; a longer one is).
MAX_IGNORED_LAST_LINE = 1024

# Python frames a filter may nest (blocks, ifs, parentheses, a long a + b + ...
# chain).  maildrop accepts thousands of levels; Python's default of 1000 is
# too few.  Deeper filters end in a clean syntax error (EX_TEMPFAIL).
MAX_RECURSION = 30_000

# Nested `include` statements (maildrop: "Too many included files" after 20).
MAX_INCLUDE_DEPTH = 20

# Whole-delivery watchdog (maildrop's compile-time GLOBAL_TIMEOUT is 300 s).
DELIVERY_TIMEOUT = 300

# Time limit of one external command: xfilter, |pipe, `backtick`, system.
COMMAND_TIMEOUT = 300

# Output of a `backtick` command kept as the value (maildrop keeps all of it).
MAX_BACKTICK_OUTPUT = 1024 * 1024

# Default values of the lock variables (maildropfilter(7) "LOCK*").
LOCKEXT = ".lock"
LOCKSLEEP = 5
LOCKTIMEOUT = 60
LOCKREFRESH = 15

# Dot-lock and flock attempts never wait longer than this in total.
MAX_LOCK_WAIT = 300

# Default file creation mask for new mailboxes (maildropfilter(7) UMASK).
UMASK = "077"

# The umask every command started by the filter runs with (maildrop uses 007).
COMMAND_UMASK = 0o007

# The default SENDMAIL and PATH values (maildropfilter(7)).
SENDMAIL = "/usr/sbin/sendmail -oi"
PATH = "/bin:/usr/bin:/usr/local/bin"

# Where the default mailbox lives: DEFAULT is MAILSPOOL/LOGNAME.
MAILSPOOL = "/var/mail"


# Length of the mailbox name in a logfile "File:" line (maildrop pads/cuts it).
LOG_FILE_FIELD = 66

# The whole exchange with Courier's authdaemond (connect, ask, read the reply).
AUTHDAEMON_TIMEOUT = 5.0

# One regular-expression search may take this long; then the delivery ends in
# 75 (Python's re cannot be interrupted, so the watchdog thread ends it).
PATTERN_TIMEOUT = 30

# How often the watchdog thread looks, and how long it lets the main thread
# react to the delivery timeout before it ends the process itself.
WATCHDOG_POLL = 0.5
WATCHDOG_GRACE = 10
