"""User-facing errors: the binaries print these as one line, without a traceback."""


class TfpganError(Exception):
    """An error caused by the user's input (data, flags, files), not by a bug."""


class DataError(TfpganError):
    """A source image, CSV, or dataset folder is missing, unreadable or inconsistent."""
